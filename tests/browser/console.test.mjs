// The web console in a real headless Chromium (Debian's, driven by playwright-core), over a
// memory, a local-disk and a cache-service store, each seeded with the demo sessions; plus the
// one-file report opened from disk and the cache service's /docs. Run by run.sh.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.PERFSTORE_BIN ?? resolve('../../target/debug/perfstore');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.SHOTS_DIR ?? resolve('artifacts');
const DOC_SHOTS = process.env.DOC_SHOTS_DIR; // set: the README's screenshots are refreshed
const SESSIONS = Array.from({ length: 8 }, (_, i) => `nightly-0${i + 1}`);
// Chromium reports the sandboxed artifact's blocked script on the console: expected, and
// proof the script did not run.
const BLOCKED_SCRIPT = /Blocked script execution in '.*' because the document's frame is sandboxed/;

mkdirSync(SHOTS, { recursive: true });
const children = [];
const scratch = mkdtempSync(join(tmpdir(), 'perfstore-browser-'));

/** Starts `perfstore ARGS`; resolves `{ url, child }` with the first stdout match of `pattern`. */
function start(args, pattern) {
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`perfstore ${args.join(' ')}: no ${pattern} in 60 s\n${out}\n${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); child.removeAllListeners('exit'); resolveUrl({ url: m[1], child }); }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`perfstore ${args.join(' ')} exited ${code}\n${out}\n${err}`)); });
  });
}
/** `perfstore GLOBAL ui --port 0 UI`; resolves the console's URL (with its trailing slash). */
const startUi = (global, ui = []) =>
  start([...global, 'ui', '--port', '0', ...ui], /perfstore console: (http:\/\/\S+)/).then((s) => s.url);

let context;
before(async () => {
  context = await chromium.launchPersistentContext(mkdtempSync(join(scratch, 'profile-')), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await context?.close();
  for (const child of children) child.kill('SIGTERM');
});

/** A fresh page that records console errors and failed requests. */
async function watchedPage() {
  const page = await context.newPage();
  const problems = { errors: [], blocked: [], failed: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    (BLOCKED_SCRIPT.test(msg.text()) ? problems.blocked : problems.errors).push(msg.text());
  });
  page.on('pageerror', (e) => problems.errors.push(String(e)));
  page.on('requestfailed', (r) => problems.failed.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.failed.push(`${r.url()} ${r.status()}`); });
  return { page, problems };
}

function assertClean(problems, what) {
  assert.deepEqual(problems.errors, [], `${what}: console errors`);
  assert.deepEqual(problems.failed, [], `${what}: failed requests`);
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
  if (DOC_SHOTS && (name === 'local-history' || name === 'local-compare')) {
    await page.screenshot({ path: join(DOC_SHOTS, `${name.replace('local-', '')}.png`), fullPage: false });
  }
}

/** The same checks on every store. */
function consoleSuite(kind, open, extraSessions = []) {
  describe(`the console over a ${kind} store`, () => {
    let base;
    before(async () => { base = await open(); });

    test('sessions: every name, baselines marked', async () => {
      const { page, problems } = await watchedPage();
      await page.goto(base);
      const names = await page.locator('table.sessions td.name a').allTextContents();
      assert.deepEqual(names.sort(), [...SESSIONS, ...extraSessions].sort());
      const mainRow = page.locator('tr[data-session="nightly-05"]');
      assert.equal(await mainRow.locator('.badge.baseline').textContent(), '@main');
      assert.match(await mainRow.textContent(), /commit=/);
      await shot(page, `${kind}-sessions`);
      assertClean(problems, 'sessions');
      await page.close();
    });

    test('history: a chart per metric with every session, the regression highlighted', async () => {
      const { page, problems } = await watchedPage();
      await page.goto(`${base}history?target=parser`);
      assert.equal(await page.locator('figure.chart').count(), 3);
      const p99 = page.locator('figure.chart[data-metric="results/metrics.json: latency.p99_ms"]');
      assert.equal(await p99.locator('circle.point').count(), 8);
      const regression = p99.locator('circle.point.regression');
      assert.equal(await regression.count(), 1);
      assert.equal(await regression.getAttribute('data-session'), 'nightly-06');
      // Drawn red, and hovering it names the session and value.
      assert.equal(await regression.evaluate((c) => getComputedStyle(c).fill), 'rgb(201, 54, 43)');
      assert.equal(await regression.locator('title').textContent(), 'nightly-06: 12.1 (regression)');
      await regression.hover();
      assert.equal(await p99.locator('.baseline-label').allTextContents().then((t) => t.sort().join(' ')), '@main @release-1');
      await shot(page, `${kind}-history`);
      assertClean(problems, 'history');
      // The state is in the URL: a narrower query is another shareable page.
      await page.goto(`${base}history?target=parser&metric=latency.*&last=3`);
      assert.equal(await page.locator('figure.chart').count(), 2);
      assert.equal(await page.locator('figure.chart').first().locator('circle.point').count(), 3);
      assert.equal(await page.inputValue('input[name="metric"]'), 'latency.*');
      await page.close();
    });

    test('compare: the regression first, highlighted, with the verdict', async () => {
      const { page, problems } = await watchedPage();
      await page.goto(`${base}compare`);
      await page.fill('input[name="base"]', '@main');
      await page.fill('input[name="candidate"]', 'nightly-06');
      await page.click('button[type="submit"]');
      await page.waitForURL(/compare\?base=%40main&candidate=nightly-06/);
      assert.match(await page.locator('.verdict').textContent(), /Regressed: 1 metric/);
      const first = page.locator('table.metrics tbody tr').first();
      assert.equal(await first.getAttribute('class'), 'regression');
      assert.match(await first.textContent(), /latency\.p99_ms/);
      assert.equal(await first.locator('td').first().evaluate((td) => getComputedStyle(td).backgroundColor), 'rgb(253, 236, 234)');
      const verdicts = await page.locator('table.metrics tbody tr').evaluateAll((rows) => rows.map((r) => r.className));
      assert.deepEqual(verdicts, ['regression', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
      await shot(page, `${kind}-compare`);
      assertClean(problems, 'compare');
      await page.close();
    });

    test('target: Markdown rendered without raw HTML, HTML sandboxed, images shown', async () => {
      const { page, problems } = await watchedPage();
      await page.goto(`${base}target?session=nightly-08&target=parser`);
      const title = await page.title();
      const md = page.locator('section.artifact[data-key="reports/summary.md"] .markdown');
      assert.equal(await md.locator('h1').textContent(), 'Parser nightly summary');
      assert.equal(await md.locator('table tr').count(), 2);
      assert.equal(await md.locator('b, script').count(), 0, 'raw HTML stays text');
      assert.match(await md.textContent(), /<b>raw html stays text<\/b>/);
      assert.equal(await md.locator('a[href^="javascript"]').count(), 0);
      // The HTML artifact: sandboxed, its script never ran, and nothing in it reaches the console.
      const iframe = page.locator('iframe.html-artifact');
      assert.equal(await iframe.getAttribute('sandbox'), '');
      const frame = await iframe.elementHandle().then((h) => h.contentFrame());
      await frame.waitForLoadState();
      assert.equal(await frame.locator('#status').textContent(), 'flame graph (static)');
      const reach = await frame.evaluate(() => { try { return parent.document.title; } catch (e) { return `blocked: ${e.name}`; } });
      assert.equal(reach, 'blocked: SecurityError');
      assert.equal(await page.title(), title);
      assert.equal(await page.locator('h1').first().textContent(), 'Target parser of nightly-08');
      assert.ok(problems.blocked.length >= 1, 'Chromium reports the blocked script');
      // Images (PNG and the SVG with a script in it) load through <img>.
      const widths = await page.locator('img.image-artifact').evaluateAll((imgs) => imgs.map((i) => i.naturalWidth));
      assert.deepEqual(widths, [120, 160]);
      assert.equal(await page.locator('section.artifact[data-key="results/metrics.json"] .json-tree details').count(), 2);
      assert.equal(await page.locator('section.artifact[data-key="data/profile.bin"] a.download').count(), 1);
      await shot(page, `${kind}-target`);
      assertClean(problems, 'target');
      await page.close();
    });

    test('a missing session is a clear 404 page', async () => {
      const page = await context.newPage();
      const response = await page.goto(`${base}session?name=nope`);
      assert.equal(response.status(), 404);
      assert.equal(await page.locator('h1').textContent(), '404 · Not found');
      assert.equal(await page.locator('.message').textContent(), 'session nope not found');
      await page.close();
    });
  });
}

const localDir = join(scratch, 'local');
let cacheUrl;

consoleSuite('memory', () => startUi(['--mode', 'memory'], ['--seed-demo']));

consoleSuite('local', async () => {
  // Seeded by one console process, served by a fresh one: the pages show what is on disk.
  const seeder = await start(['--path', localDir, 'ui', '--port', '0', '--seed-demo'], /perfstore console: (http:\/\/\S+)/);
  seeder.child.kill('SIGTERM');
  // And a session written by `perfstore put`.
  execFileSync(BIN, ['--path', localDir, 'put', 'cli-run', 'cli-target', 'results/metrics.json', '--json'], { input: '{"p50_ms": 2.5}' });
  return startUi(['--path', localDir]);
}, ['cli-run']);

consoleSuite('cache-service', async () => {
  ({ url: cacheUrl } = await start(['serve', '--host', '127.0.0.1', '--port', '0', '--storage', 'memory', '--no-auth'], /listening on (http:\/\/\S+)/));
  return startUi(['--mode', 'cache_service', '--url', cacheUrl], ['--seed-demo']);
});

describe('outside the console', () => {
  test('the report is one file that opens from disk with no other request', async () => {
    const file = join(scratch, 'report.html');
    execFileSync(BIN, ['--path', localDir, 'report', 'nightly-08', '--against', '@main', '--html', file]);
    const { page, problems } = await watchedPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    assert.deepEqual(requests, [`file://${file}`]);
    assert.match(await page.locator('.verdict').textContent(), /Regressed/);
    assert.equal(await page.locator('figure.chart').count(), 5);
    assert.equal(await page.locator('figure.chart circle.point.regression').count(), 1);
    assert.equal(await page.locator('a').count(), 0, 'a report links nowhere');
    await shot(page, 'report');
    assertClean(problems, 'report');
    await page.close();
  });

  test('the cache service\'s /docs renders Swagger UI with no outside request', async () => {
    assert.ok(cacheUrl, 'the cache-service suite started the server');
    const { page, problems } = await watchedPage();
    const outside = [];
    page.on('request', (r) => { if (!r.url().startsWith(cacheUrl)) outside.push(r.url()); });
    await page.goto(`${cacheUrl}/docs`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 30_000 });
    assert.ok(await page.locator('.swagger-ui .opblock').count() > 20);
    assert.deepEqual(outside, []);
    await shot(page, 'cache-service-docs', false);
    assertClean(problems, '/docs');
    await page.close();
  });
});
