#!/usr/bin/env python3
"""Combine the loadgen results of our server and the Python reference, print the comparison
table, write results.json and an SVG plot of throughput vs concurrency (standard library only).

    plot_bench.py --ours ours.json --reference reference.json \
                  --ready-ours ready-ours.json --ready-reference ready-reference.json \
                  --results results.json --svg perf-throughput.svg [--machine "..."]

Exits 1 if either run recorded an error or a (workload, concurrency) is missing from one side.
"""
import argparse
import json
import os
import sys
from xml.sax.saxutils import escape


def load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def by_phase(run):
    return {(p['workload'], p['concurrency']): p for p in run['phases']}


def compare(ours, reference):
    ours_p, ref_p = by_phase(ours), by_phase(reference)
    if set(ours_p) != set(ref_p):
        raise SystemExit(f'plot_bench.py: the runs cover different phases: ours {sorted(ours_p)}, reference {sorted(ref_p)}')
    rows = []
    for key, o in ours_p.items():       # run order (workload, then concurrency)
        r = ref_p[key]
        rows.append({
            'workload': key[0], 'concurrency': key[1], 'requests': o['requests'],
            'ours_ops_per_s': o['ops_per_s'], 'reference_ops_per_s': r['ops_per_s'],
            'ratio': o['ops_per_s'] / r['ops_per_s'] if r['ops_per_s'] > 0 else None,
            'ours_p50_ms': o['p50_ms'], 'ours_p99_ms': o['p99_ms'],
            'reference_p50_ms': r['p50_ms'], 'reference_p99_ms': r['p99_ms'],
            'ours_errors': o['errors'], 'reference_errors': r['errors'],
        })
    return rows


def table(rows):
    head = f"{'workload':<24} {'conc':>4} {'ours ops/s':>10} {'ref ops/s':>10} {'ours/ref':>8} " \
           f"{'ours p50':>9} {'ref p50':>9} {'ours p99':>9} {'ref p99':>9} {'errors':>6}"
    lines = [head, '-' * len(head)]
    for r in rows:
        ratio = f"{r['ratio']:.1f}x" if r['ratio'] is not None else 'n/a'
        lines.append(
            f"{r['workload']:<24} {r['concurrency']:>4} {r['ours_ops_per_s']:>10.0f} {r['reference_ops_per_s']:>10.0f} "
            f"{ratio:>8} {r['ours_p50_ms']:>9.3f} {r['reference_p50_ms']:>9.3f} {r['ours_p99_ms']:>9.3f} "
            f"{r['reference_p99_ms']:>9.3f} {r['ours_errors'] + r['reference_errors']:>6}")
    lines.append('(latencies in ms; ratio = ours ops/s ÷ reference ops/s)')
    return '\n'.join(lines)


def svg(rows, title):
    """One panel per workload: ops/s (log scale) against concurrency, both servers."""
    import math
    workloads = list(dict.fromkeys(r['workload'] for r in rows))
    concs = sorted({r['concurrency'] for r in rows})
    values = [v for r in rows for v in (r['ours_ops_per_s'], r['reference_ops_per_s']) if v > 0]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 1
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 10
    if hi <= lo:
        hi = lo * 10
    pw, ph, ml, mt, gap = 300, 220, 60, 50, 40
    width = ml + len(workloads) * (pw + gap) + 20
    height = mt + ph + 80
    series = {'ours': ('#1f77b4', 'ours_ops_per_s'), 'reference': ('#d62728', 'reference_ops_per_s')}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{escape(title)}</text>']

    def y_of(v):
        return mt + ph - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph

    for i, w in enumerate(workloads):
        x0 = ml + i * (pw + gap)

        def x_of(c):
            k = concs.index(c)
            return x0 + 20 + k * (pw - 40) / max(1, len(concs) - 1)

        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
        out.append(f'<text x="{x0 + pw / 2}" y="{mt - 8}" text-anchor="middle">{escape(w)}</text>')
        decade = lo
        while decade <= hi:
            y = y_of(decade)
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            if i == 0:
                out.append(f'<text x="{x0 - 5}" y="{y + 4:.1f}" text-anchor="end">{decade:g}</text>')
            decade *= 10
        for c in concs:
            out.append(f'<text x="{x_of(c):.1f}" y="{mt + ph + 16}" text-anchor="middle">{c}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{mt + ph + 34}" text-anchor="middle">concurrency</text>')
        for name, (colour, field) in series.items():
            pts = [(x_of(r['concurrency']), y_of(r[field])) for r in rows if r['workload'] == w and r[field] > 0]
            pts.sort()
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                       + ' '.join(f'{x:.1f},{y:.1f}' for x, y in pts) + '"/>')
            out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in pts)
    out.append(f'<text x="15" y="{mt + ph / 2}" transform="rotate(-90 15 {mt + ph / 2})" '
               f'text-anchor="middle">requests/s (log scale)</text>')
    ly = height - 18
    for k, (name, (colour, _)) in enumerate(series.items()):
        lx = ml + k * 140
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="14" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 20}" y="{ly}">{name}</text>')
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ours', required=True)
    ap.add_argument('--reference', required=True)
    ap.add_argument('--ready-ours', required=True)
    ap.add_argument('--ready-reference', required=True)
    ap.add_argument('--results', required=True)
    ap.add_argument('--svg')
    ap.add_argument('--machine', default='')
    ap.add_argument('--mode', default='full')
    a = ap.parse_args()
    ours, reference = load(a.ours), load(a.reference)
    ready_ours, ready_ref = load(a.ready_ours), load(a.ready_reference)
    rows = compare(ours, reference)
    print(table(rows))
    print()
    print('in-process ready time (build in-memory app + answer the first GET /info/health, no socket):')
    print(f"  ours:      median {ready_ours['median_ms']:.3f} ms, first {ready_ours['first_ms']:.3f} ms ({ready_ours['runs']} builds)")
    print(f"  reference: median {ready_ref['median_ms']:.1f} ms, first {ready_ref['first_ms']:.1f} ms ({ready_ref['runs']} builds),"
          f" plus {ready_ref['import_ms']:.0f} ms to import the package")
    if ready_ours['median_ms'] > 0:
        print(f"  ratio reference/ours (median): {ready_ref['median_ms'] / ready_ours['median_ms']:.0f}x")
    results = {'mode': a.mode, 'machine': a.machine, 'comparison': rows,
               'ready': {'ours': ready_ours, 'reference': ready_ref},
               'runs': {'ours': ours, 'reference': reference}}
    with open(a.results, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=2)
    if a.svg:
        os.makedirs(os.path.dirname(os.path.abspath(a.svg)), exist_ok=True)
        with open(a.svg, 'w', encoding='utf-8') as f:
            f.write(svg(rows, f'Throughput vs concurrency, ours vs Python reference (loopback, {a.mode} run)'))
    errors = sum(r['ours_errors'] + r['reference_errors'] for r in rows)
    if errors:
        print(f'plot_bench.py: FAIL: {errors} request error(s)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
