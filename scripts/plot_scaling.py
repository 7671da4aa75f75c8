#!/usr/bin/env python3
"""Plot the scaling bench's results (standard library only, SVG written by hand).

    plot_scaling.py [--results target/scaling/results.json] [--svg docs/perf-scaling.svg]

Panels: import time vs N (log-log) into one target and into 100 targets, session-info time vs
N (log-log), each per backend with a dashed linear-growth guide; and the rate of storing the
same key over the run (ops/s per twentieth of the K stores, log y) per backend and workload.
Prints the checks table of the JSON. Exits 1 if the file is missing or has no measurements.
"""
import argparse
import json
import math
import os
import sys
from xml.sax.saxutils import escape

COLOURS = {
    'memory': '#2ca02c', 'local': '#ff7f0e', 'server-mem': '#1f77b4',
    'server-disk': '#9467bd', 'reference': '#d62728',
}
FALLBACK = ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']


def colour(name, seen):
    if name not in COLOURS:
        COLOURS[name] = FALLBACK[len(seen) % len(FALLBACK)]
    seen.add(name)
    return COLOURS[name]


def log_range(values):
    values = [v for v in values if v and v > 0 and math.isfinite(v)]
    if not values:
        return 1.0, 10.0
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    return (lo, hi * 10) if hi <= lo else (lo, hi)


class Panel:
    """A plot area at (x0, y0) of size w × h with log axes (x optionally linear)."""

    count = 0

    def __init__(self, x0, y0, w, h, xr, yr, xlog=True):
        self.x0, self.y0, self.w, self.h = x0, y0, w, h
        self.xr, self.yr, self.xlog = xr, yr, xlog
        Panel.count += 1
        self.clip = f'panel{Panel.count}'

    def x(self, v):
        lo, hi = self.xr
        if self.xlog:
            f = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            f = (v - lo) / (hi - lo) if hi > lo else 0.5
        return self.x0 + 10 + f * (self.w - 20)

    def y(self, v):
        lo, hi = self.yr
        f = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return self.y0 + self.h - f * self.h

    def frame(self, out, title, xlabel, ylabel, xticks, xtick_label=lambda v: f'{v:g}'):
        out.append(f'<clipPath id="{self.clip}"><rect x="{self.x0}" y="{self.y0 - 4}" width="{self.w}" '
                   f'height="{self.h + 8}"/></clipPath>')
        out.append(f'<rect x="{self.x0}" y="{self.y0}" width="{self.w}" height="{self.h}" fill="none" stroke="#888"/>')
        out.append(f'<text x="{self.x0 + self.w / 2}" y="{self.y0 - 8}" text-anchor="middle">{escape(title)}</text>')
        decade = self.yr[0]
        while decade <= self.yr[1] * 1.0001:
            y = self.y(decade)
            out.append(f'<line x1="{self.x0}" x2="{self.x0 + self.w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{self.x0 - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{decade:g}</text>')
            decade *= 10
        for v in xticks:
            x = self.x(v)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.y0 + self.h}" y2="{self.y0 + self.h + 4}" stroke="#888"/>')
            out.append(f'<text x="{x:.1f}" y="{self.y0 + self.h + 16}" text-anchor="middle" font-size="10">{escape(xtick_label(v))}</text>')
        out.append(f'<text x="{self.x0 + self.w / 2}" y="{self.y0 + self.h + 32}" text-anchor="middle">{escape(xlabel)}</text>')
        cy = self.y0 + self.h / 2
        out.append(f'<text x="{self.x0 - 44}" y="{cy}" transform="rotate(-90 {self.x0 - 44} {cy})" '
                   f'text-anchor="middle">{escape(ylabel)}</text>')

    def line(self, out, pts, stroke, dash=None, dots=True):
        pts = [(self.x(a), self.y(b)) for a, b in pts if b and b > 0]
        if not pts:
            return
        extra = f' stroke-dasharray="{dash}"' if dash else ''
        out.append(f'<polyline fill="none" stroke="{stroke}" stroke-width="2"{extra} clip-path="url(#{self.clip})" points="'
                   + ' '.join(f'{x:.1f},{y:.1f}' for x, y in pts) + '"/>')
        if dots:
            out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{stroke}"/>' for x, y in pts)


def kilo(v):
    return f'{v / 1000:g}k' if v >= 1000 else f'{v:g}'


def svg(res, title):
    imports, listing, same = res.get('import', []), res.get('session_listing', []), res.get('same_key', [])
    backends = list(dict.fromkeys([r['backend'] for r in imports] + [r['backend'] for r in same]))
    sizes = sorted({r['n'] for r in imports} | {r['n'] for r in listing})
    seen = set()
    pw, ph, ml, mt, gap = 300, 230, 70, 60, 80
    width = ml + 4 * pw + 3 * gap + 20
    height = mt + ph + 110
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>']
    xr = (min(sizes) / 1.5, max(sizes) * 1.5) if sizes else (1, 10)
    import_range = log_range([r['seconds'] for r in imports])   # both import panels alike

    def time_panel(i, rows, title_text, key=None, yr=None):
        yr = yr or log_range([r['seconds'] for r in rows])
        p = Panel(ml + i * (pw + gap), mt, pw, ph, xr, yr)
        p.frame(out, title_text, 'N artifacts (log)', 'seconds (log)', sizes, kilo)
        for b in backends:
            pts = sorted((r['n'], r['seconds']) for r in rows if r['backend'] == b and (key is None or key(r)))
            if not pts:
                continue
            c = colour(b, seen)
            p.line(out, pts, c)
            if len(pts) > 1:    # linear growth from the smallest point
                n0, t0 = pts[0]
                p.line(out, [(n0, t0), (pts[-1][0], t0 * pts[-1][0] / n0)], c, dash='3,4', dots=False)

    time_panel(0, imports, 'import into one target', lambda r: r['layout'] == 'one_target', import_range)
    time_panel(1, imports, 'import into 100 targets', lambda r: r['layout'] == '100_targets', import_range)
    time_panel(2, listing, 'session info (100 targets)')

    # Same key over time: rate per twentieth of the run; x = fraction of the K stores.
    rates = [v for r in same for v in r.get('rate_buckets', [])]
    p = Panel(ml + 3 * (pw + gap), mt, pw, ph, (0.0, 1.0), log_range(rates), xlog=False)
    p.frame(out, 'same key stored K times', 'fraction of the K stores', 'stores/s (log)',
            [0.0, 0.25, 0.5, 0.75, 1.0], lambda v: f'{v:g}')
    for r in same:
        buckets = r.get('rate_buckets', [])
        if not buckets:
            continue
        pts = [((i + 0.5) / len(buckets), v) for i, v in enumerate(buckets)]
        p.line(out, pts, colour(r['backend'], seen),
               dash=None if r['workload'] == 'perfstore put' else '6,3', dots=False)

    ly = height - 30
    lx = ml
    for b in backends:
        c = colour(b, seen)
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="14" height="10" fill="{c}"/>')
        out.append(f'<text x="{lx + 20}" y="{ly}">{escape(b)}</text>')
        lx += 120
    out.append(f'<text x="{lx + 20}" y="{ly}" fill="#444">dashed, left: linear growth from the smallest N; '
               f'dashed, right: key_based store straight to the server (solid: perfstore put)</text>')
    out.append('</svg>')
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--results', default='target/scaling/results.json')
    ap.add_argument('--svg', default='docs/perf-scaling.svg')
    ap.add_argument('--title', default=None)
    a = ap.parse_args()
    try:
        with open(a.results, encoding='utf-8') as f:
            res = json.load(f)
    except OSError as e:
        print(f'plot_scaling.py: cannot read {a.results}: {e}', file=sys.stderr)
        return 1
    if not res.get('import') and not res.get('same_key'):
        print(f'plot_scaling.py: {a.results} holds no measurements', file=sys.stderr)
        return 1
    machine = res.get('machine', {})
    title = a.title or (f"Cost as the store grows ({res.get('mode', '?')} run, "
                        f"{machine.get('cores', '?')} cores, sizes {', '.join(kilo(n) for n in res.get('sizes', []))}, "
                        f"same key x{kilo(res.get('repeats', 0))})")
    os.makedirs(os.path.dirname(os.path.abspath(a.svg)), exist_ok=True)
    with open(a.svg, 'w', encoding='utf-8') as f:
        f.write(svg(res, title))
    checks = res.get('checks', [])
    failed = [c for c in checks if not c['pass']]
    print(f'plot_scaling.py: wrote {a.svg}; {len(checks) - len(failed)} of {len(checks)} checks pass')
    for c in failed:
        op = '<=' if c['goal_is_max'] else '>='
        print(f"  FAIL {c['case']}: {c['what']} = {c['value']:.2f} (goal {op} {c['goal']:g})")
    return 0


if __name__ == '__main__':
    sys.exit(main())
