// Optional end-to-end check of assets/beacon.js in headless Chromium (not part of
// `node --test demo/`, which must stay fast and browser-free).
//
//   node --experimental-websocket demo/browser-check.mjs [--screenshot out.png]
//
// Starts the origin and a tiny stand-in for the worker that serves the beacon at
// /__edgeseg/beacon.js, records POST /__edgeseg/events (checking each batch against
// contract section 5) and proxies everything else to the origin with a synthetic set of
// edgeseg-* headers. Then drives Chromium over the DevTools protocol: hover, scroll,
// compare, add to cart, remove; and checks the events that arrived. Then again with
// Global Privacy Control on, expecting nothing. Exits non-zero on failure.

import http from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createOrigin } from './origin.mjs';

const BEACON = readFileSync(fileURLToPath(new URL('../assets/beacon.js', import.meta.url)));
const CHROMIUM = process.env.CHROMIUM || 'chromium';
const shotArg = process.argv.indexOf('--screenshot');
const SHOT = shotArg > 0 ? process.argv[shotArg + 1] : null;

const SYNTHETIC = {
  'edgeseg-segment': 'focused_buyer;confidence=0.812;intent=0.344',
  'edgeseg-signals': 'page_values=0.213;v=12.5, product_related_duration=0.087;v=412.0, exit_rates=-0.029;v=0.031, bounce_rates=-0.041;v=0.02',
  'edgeseg-rules': 'cart_abandoner=("cart_adds gte 1 [2]" "checkouts eq 0 [0]");priority=90, deal_seeker=("sale_views gte 1 [3]");priority=40',
  'edgeseg-reason': 'MODEL',
  'edgeseg-version': 'model="2026.11.21-1", rules="2026.11.21-1"',
};

// Contract section 5, as the worker will check it.
function validate(ct, body) {
  assert.ok(body.length <= 8192, 'body over 8 KiB');
  assert.match(ct, /^(application\/json|text\/plain)/);
  const j = JSON.parse(body);
  assert.equal(j.v, 1);
  assert.ok(Array.isArray(j.events) && j.events.length >= 1 && j.events.length <= 50);
  for (const e of j.events) {
    if (e.type === 'dwell') assert.ok(Number.isInteger(e.ms) && e.ms >= 0 && e.ms <= 1_800_000 && /^\//.test(e.page) && e.page.length <= 512);
    else if (e.type === 'scroll') assert.ok(Number.isInteger(e.depth) && e.depth >= 0 && e.depth <= 100 && /^\//.test(e.page));
    else if (['compare', 'cart_remove', 'hover'].includes(e.type)) assert.match(e.product, /^[A-Za-z0-9._-]{1,64}$/);
    else assert.fail(`unknown type ${e.type}`);
  }
  return j.events;
}

async function main() {
  const origin = createOrigin();
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = origin.address().port;
  const events = [];
  const worker = http.createServer((req, res) => {
    if (req.url === '/__edgeseg/beacon.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end(BEACON);
    }
    if (req.url === '/__edgeseg/events' && req.method === 'POST') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        try { events.push(...validate(req.headers['content-type'] || '', Buffer.concat(chunks).toString())); res.writeHead(204).end(); }
        catch (e) { console.error('bad batch:', e.message); events.push({ type: 'INVALID' }); res.writeHead(400).end(); }
      });
      return;
    }
    const headers = { ...req.headers, ...SYNTHETIC };
    const up = http.request({ host: '127.0.0.1', port: originPort, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode, r.rawHeaders);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise((r) => worker.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${worker.address().port}`;

  const profile = mkdtempSync(join(tmpdir(), 'edgeseg-chromium-'));
  const chrome = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let wsUrl;
  let err = '';
  for await (const chunk of chrome.stderr) {
    err += chunk;
    const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
    if (m) { wsUrl = m[1]; break; }
  }
  chrome.stderr.resume();
  const port = new URL(wsUrl).port;
  const pageTarget = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()).find((t) => t.type === 'page');
  const ws = new WebSocket(pageTarget.webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  let id = 0;
  const pending = new Map();
  const waiters = [];
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && pending.has(msg.id)) { const [r, j] = pending.get(msg.id); pending.delete(msg.id); msg.error ? j(new Error(msg.error.message)) : r(msg.result); }
    else for (const w of waiters.splice(0)) w(msg);
  };
  const cdp = (method, params = {}) => new Promise((r, j) => { const i = ++id; pending.set(i, [r, j]); ws.send(JSON.stringify({ id: i, method, params })); });
  const loaded = () => new Promise((r) => { const w = (msg) => (msg.method === 'Page.loadEventFired' ? r() : waiters.push(w)); waiters.push(w); });
  const evalJs = async (expr) => (await cdp('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true })).result.value;
  const go = async (path) => { const l = loaded(); await cdp('Page.navigate', { url: base + path }); await l; await sleep(150); };
  const center = async (sel) => evalJs(`(() => { const r = document.querySelector(${JSON.stringify(sel)}).getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`);
  const move = async ([x, y]) => cdp('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y });
  const click = async (sel) => {
    const [x, y] = await center(sel);
    const l = loaded();
    await cdp('Input.dispatchMouseEvent', { type: 'mousePressed', x, y, button: 'left', clickCount: 1 });
    await cdp('Input.dispatchMouseEvent', { type: 'mouseReleased', x, y, button: 'left', clickCount: 1 });
    await l;
    await sleep(150);
  };
  const settle = async () => sleep(400);

  try {
    await cdp('Page.enable');
    await cdp('Runtime.enable');
    await cdp('Emulation.setDeviceMetricsOverride', { width: 1200, height: 700, deviceScaleFactor: 1, mobile: false });

    // 1. Listing: hover one card > 500 ms, another < 500 ms, scroll to the bottom, leave.
    await go('/category/audio');
    await move(await center('[data-edgeseg-product="303"]'));
    await sleep(700);
    await move(await center('[data-edgeseg-product="305"]'));
    await sleep(150);
    await move([5, 5]);
    await move(await center('[data-edgeseg-product="303"]')); // again: not a second hover event
    await sleep(700);
    await evalJs('window.scrollTo(0, document.documentElement.scrollHeight)');
    await sleep(200);
    await go('/product/301');
    await settle();
    // 2. Product: compare click (navigates to /compare), then add to cart, then remove.
    await click('[data-edgeseg-compare="301"]');
    await go('/product/301');
    await click('form[action="/cart/add"] button');
    await click('[data-edgeseg-cart-remove="301"]');
    await settle();
    if (SHOT) {
      await go('/product/502');
      await evalJs('document.querySelector(".es-raw").open = true');
      const { cssContentSize } = await cdp('Page.getLayoutMetrics');
      await cdp('Emulation.setDeviceMetricsOverride', { width: 1200, height: Math.ceil(cssContentSize.height), deviceScaleFactor: 1, mobile: false });
      const shot = await cdp('Page.captureScreenshot', { format: 'png' });
      writeFileSync(SHOT, Buffer.from(shot.data, 'base64'));
      console.log(`screenshot: ${SHOT}`);
    }
    console.log(JSON.stringify(events));

    assert.ok(!events.some((e) => e.type === 'INVALID'), 'an invalid batch was sent');
    const of = (t) => events.filter((e) => e.type === t);
    assert.deepEqual(of('hover').map((e) => e.product), ['303'], 'exactly one hover, on 303');
    assert.ok(of('scroll').some((e) => e.page === '/category/audio' && e.depth === 100), 'scroll to 100 on the listing');
    assert.ok(of('dwell').some((e) => e.page === '/category/audio' && e.ms >= 1500), 'dwell on the listing');
    assert.ok(of('dwell').some((e) => e.page === '/product/301'), 'dwell on the product page');
    assert.deepEqual(of('compare').map((e) => e.product), ['301']);
    assert.deepEqual(of('cart_remove').map((e) => e.product), ['301']);

    // 3. Global Privacy Control: nothing at all.
    await go('/__origin/ping'); // leave the last store page, so its flush lands before the reset
    await settle();
    await cdp('Page.addScriptToEvaluateOnNewDocument', { source: "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })" });
    events.length = 0;
    await go('/category/kitchen');
    await move(await center('[data-edgeseg-product="101"]'));
    await sleep(700);
    await go('/product/101');
    await click('[data-edgeseg-compare="101"]');
    await go('/');
    await settle();
    assert.deepEqual(events, [], 'nothing sent under GPC');
    console.log('browser check: ok');
  } finally {
    ws.close();
    chrome.kill('SIGTERM');
    await new Promise((r) => chrome.once('exit', r));
    rmSync(profile, { recursive: true, force: true });
    worker.close(); worker.closeAllConnections();
    origin.close(); origin.closeAllConnections();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
