// Tests of the demo origin: starts `node demo/origin.mjs --port 0` and exercises the
// store pages and the /__origin/ test endpoints. Run with `node --test demo/`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseDictionary, parseItem, parseList, SfvError } from './sfv.mjs';

const ORIGIN = fileURLToPath(new URL('./origin.mjs', import.meta.url));
let child;
let base;

before(async () => {
  child = spawn(process.execPath, [ORIGIN, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes('\n')) break;
  }
  const m = /^edgeseg-demo-origin listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/.exec(out);
  assert.ok(m, `unexpected listen line: ${JSON.stringify(out)}`);
  base = m[1];
});

after(async () => {
  if (child.exitCode === null) { child.kill('SIGTERM'); await once(child, 'exit'); }
});

const sha = (buf) => createHash('sha256').update(buf).digest('hex');
const pattern = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = i % 251; return b; };

// node:http, for what fetch cannot do (repeated request headers).
function rawRequest(path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, headers }, async (res) => {
      const chunks = [];
      for await (const c of res) chunks.push(c);
      resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const SYNTHETIC = {
  'edgeseg-segment': 'focused_buyer;confidence=0.812;intent=0.344',
  'edgeseg-signals': 'page_values=0.213;v=12.5, bounce_rates=-0.041;v=0.02',
  'edgeseg-rules': 'cart_abandoner=("cart_adds gte 1 [2]" "checkouts eq 0 [0]");priority=90',
  'edgeseg-reason': 'MODEL',
  'edgeseg-version': 'model="2026.11.21-1", rules="2026.11.21-1"',
};

test('ping', async () => {
  const res = await fetch(`${base}/__origin/ping`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.equal(await res.text(), 'pong');
});

test('echo: method, path, query, repeated headers, streamed body digest', async () => {
  const body = randomBytes(300_000);
  const res = await rawRequest('/__origin/echo?a=1&a=2&b=x%20y', {
    method: 'PATCH', headers: { 'X-Rep': ['one', 'two'], 'X-Single': 'v', 'content-type': 'application/octet-stream' }, body,
  });
  assert.equal(res.status, 200);
  const j = JSON.parse(res.body);
  assert.equal(j.method, 'PATCH');
  assert.equal(j.path, '/__origin/echo');
  assert.deepEqual(j.query, { a: ['1', '2'], b: 'x y' });
  assert.deepEqual(j.headers['x-rep'], ['one', 'two']);
  assert.equal(j.headers['x-single'], 'v');
  assert.ok(j.raw_headers.some(([n, v]) => n === 'x-rep' && v === 'two'));
  assert.equal(j.body_length, body.length);
  assert.equal(j.body_sha256, sha(body));
});

test('bytes: streamed pattern with content-length, and HEAD', async () => {
  const n = 1_000_003;
  const res = await fetch(`${base}/__origin/bytes?n=${n}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), String(n));
  const buf = Buffer.from(await res.arrayBuffer());
  assert.equal(buf.length, n);
  assert.equal(sha(buf), sha(pattern(n)));
  const head = await fetch(`${base}/__origin/bytes?n=${n}`, { method: 'HEAD' });
  assert.equal(head.headers.get('content-length'), String(n));
  assert.equal((await head.arrayBuffer()).byteLength, 0);
  assert.equal((await fetch(`${base}/__origin/bytes?n=-1`)).status, 400);
  const zero = await fetch(`${base}/__origin/bytes?n=0`);
  assert.equal(zero.status, 200);
  assert.equal((await zero.arrayBuffer()).byteLength, 0);
});

test('upload: length and sha256 of a streamed body', async () => {
  const body = randomBytes(5_000_000);
  const res = await fetch(`${base}/__origin/upload`, { method: 'POST', body });
  assert.deepEqual(await res.json(), { length: body.length, sha256: sha(body) });
  assert.equal((await fetch(`${base}/__origin/upload`)).status, 405);
});

test('redirect', async () => {
  for (const code of [301, 302, 303, 307, 308]) {
    const res = await fetch(`${base}/__origin/redirect?to=/x%3Fy%3D1&code=${code}`, { redirect: 'manual' });
    assert.equal(res.status, code);
    assert.equal(res.headers.get('location'), '/x?y=1');
  }
  const def = await fetch(`${base}/__origin/redirect?to=/x`, { redirect: 'manual' });
  assert.equal(def.status, 302);
  assert.equal((await fetch(`${base}/__origin/redirect?to=//evil.example`, { redirect: 'manual' })).status, 400);
});

test('cookies: three distinct Set-Cookie headers', async () => {
  const res = await fetch(`${base}/__origin/cookies`);
  const cookies = res.headers.getSetCookie();
  assert.equal(cookies.length, 3);
  assert.deepEqual(cookies.map((c) => c.split('=')[0]), ['a', 'b', 'c']);
});

test('status', async () => {
  for (const code of [200, 404, 418, 500, 503]) {
    const res = await fetch(`${base}/__origin/status?code=${code}`);
    assert.equal(res.status, code);
    assert.equal(await res.text(), `status ${code}\n`);
  }
  assert.equal((await fetch(`${base}/__origin/status?code=204`)).status, 204);
  assert.equal((await fetch(`${base}/__origin/status?code=99`)).status, 400);
});

test('login endpoint: cookie, x-customer-id, JSON', async () => {
  const res = await fetch(`${base}/__origin/login?customer=alice-42`);
  assert.equal(res.headers.get('x-customer-id'), 'alice-42');
  assert.deepEqual(res.headers.getSetCookie(), ['customer_id=alice-42; Path=/']);
  assert.deepEqual(await res.json(), { customer: 'alice-42' });
  assert.equal((await fetch(`${base}/__origin/login?customer=bad%0Aid`)).status, 400);
});

const PAGES = ['/', '/category/kitchen', '/category/apparel?sort=price_asc&color=red&size=m', '/product/101',
  '/search?q=jacket', '/sale', '/cart', '/checkout', '/account', '/about', '/help/shipping', '/contact', '/compare?ids=101,102'];

test('every store page renders with the edge panel and the beacon script', async () => {
  for (const path of PAGES) {
    const res = await fetch(base + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const html = await res.text();
    assert.ok(html.includes('<script src="/__edgeseg/beacon.js" defer></script>'), path);
    assert.ok(html.includes('What the edge knows about you'), path);
    assert.ok(html.includes('No <code>edgeseg-*</code> headers arrived'), path);
  }
  assert.equal((await fetch(`${base}/product/999`)).status, 404);
  assert.equal((await fetch(`${base}/category/nope`)).status, 404);
});

test('pages carry the beacon hooks', async () => {
  const product = await (await fetch(`${base}/product/301`)).text();
  assert.match(product, /data-edgeseg-compare="301"/);
  assert.match(product, /<input type="hidden" name="product" value="301">/);
  assert.match(product, /data-edgeseg-product="30[2-5]"/);
  const listing = await (await fetch(`${base}/category/audio?sort=price_desc`)).text();
  const ids = [...listing.matchAll(/data-edgeseg-product="(\d+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['302', '301', '304', '303', '305']);
  assert.match(listing, /href="\/category\/audio\?sort=price_desc&amp;color=black"/);
});

test('the edge panel renders the edgeseg-* headers', async () => {
  const html = await (await fetch(`${base}/product/301`, { headers: SYNTHETIC })).text();
  for (const s of ['focused buyer', '81.2%', '34.4%', 'MODEL', 'page_values', '+0.213', '-0.041', '12.5',
    'cart_adds gte 1 [2]', 'checkouts eq 0 [0]', 'priority 90', '2026.11.21-1', 'edgeseg-rules: cart_abandoner=(']) {
    assert.ok(html.includes(s.replace(/"/g, '&quot;')), `missing ${s}`);
  }
  assert.ok(!html.includes('Could not parse'));
});

test('an untracked request says why instead of "reached directly"', async () => {
  const html = await (await fetch(`${base}/product/301`, { headers: { 'edgeseg-reason': 'UNTRACKED;why=bot' } })).text();
  assert.ok(html.includes('UNTRACKED'));
  assert.ok(html.includes('deliberately left it untracked'));
  assert.ok(html.includes('It looks like a bot'));
  assert.ok(!html.includes('reached directly'));
  assert.ok(!html.includes('Could not parse'));
});

test('malformed edgeseg-* headers fall back to the raw value', async () => {
  const res = await fetch(`${base}/`, {
    headers: { 'edgeseg-segment': '((("', 'edgeseg-signals': 'a=1.23456, =', 'edgeseg-rules': 'x=("unterminated', 'edgeseg-reason': 'ERROR', 'edgeseg-error': 'storage_unavailable', 'edgeseg-other': '<b>' },
  });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(html.match(/Could not parse/g).length, 3);
  assert.ok(html.includes('storage_unavailable'));
  assert.ok(html.includes('edgeseg-other: &lt;b&gt;'));
});

test('cart, checkout, account and consent flows', async () => {
  const add = await fetch(`${base}/cart/add`, { method: 'POST', body: new URLSearchParams({ product: '303' }), redirect: 'manual' });
  assert.equal(add.status, 303);
  assert.equal(add.headers.get('location'), '/cart');
  const cookie = add.headers.getSetCookie()[0].split(';')[0];
  assert.match(cookie, /^demo_cart=/);
  const cart = await (await fetch(`${base}/cart`, { headers: { cookie } })).text();
  assert.match(cart, /Portable Bluetooth speaker/);
  assert.match(cart, /data-edgeseg-cart-remove="303"/);
  const removed = await fetch(`${base}/cart/remove`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ product: '303' }), redirect: 'manual' });
  assert.match(removed.headers.getSetCookie()[0], /^demo_cart=; .*Max-Age=0/);
  const order = await fetch(`${base}/checkout`, { method: 'POST', headers: { cookie }, body: 'name=A' });
  assert.equal(order.status, 200);
  assert.match(await order.text(), /Order <strong>FH-[0-9A-F]{8}<\/strong> is confirmed/);
  assert.match(order.headers.getSetCookie()[0], /^demo_cart=; .*Max-Age=0/);

  const login = await fetch(`${base}/account/login`, { method: 'POST', body: new URLSearchParams({ customer: 'bob' }), redirect: 'manual' });
  assert.equal(login.status, 200);
  assert.equal(login.headers.get('x-customer-id'), 'bob');
  assert.deepEqual(login.headers.getSetCookie(), ['customer_id=bob; Path=/']);
  assert.match(await (await fetch(`${base}/account`, { headers: { cookie: 'customer_id=bob' } })).text(), /Signed in as <strong>bob<\/strong>/);
  const logout = await fetch(`${base}/account/logout`, { method: 'POST', redirect: 'manual' });
  assert.match(logout.headers.getSetCookie()[0], /^customer_id=; .*Max-Age=0/);
  assert.equal((await fetch(`${base}/account/login`, { method: 'POST', body: 'customer=' })).status, 400);

  const consent = await fetch(`${base}/consent`, { method: 'POST', body: 'value=no&return=/sale', redirect: 'manual' });
  assert.equal(consent.headers.get('location'), '/sale');
  assert.match(consent.headers.getSetCookie()[0], /^consent=no; Path=\//);
  assert.ok(!(await (await fetch(`${base}/`, { headers: { cookie: 'consent=no' } })).text()).includes('action="/consent"'));
});

test('keep-alive: many requests on one connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve, reject) => {
      const req = http.get(`${base}/__origin/ping`, { agent }, (res) => { sockets.add(req.socket); res.resume(); res.on('end', resolve); });
      req.on('error', reject);
    });
  }
  agent.destroy();
  assert.equal(sockets.size, 1);
});

test('sfv parser', () => {
  const d = parseDictionary('a=1.5;v=2, b=("x" "y");priority=90, c, d=tok;p=?0');
  assert.deepEqual([...d.keys()], ['a', 'b', 'c', 'd']);
  assert.deepEqual(d.get('a').item, { type: 'decimal', value: 1.5 });
  assert.deepEqual(d.get('b').inner.map((x) => x.item.value), ['x', 'y']);
  assert.deepEqual(d.get('c').item, { type: 'boolean', value: true });
  assert.deepEqual(d.get('d').params.get('p'), { type: 'boolean', value: false });
  assert.equal(parseItem('"a \\"q\\""').item.value, 'a "q"');
  assert.equal(parseItem('-0.041').item.value, -0.041);
  assert.equal(parseList('1, 2,  3').length, 3);
  for (const bad of ['a=', 'a=1,', 'A=1', 'a=1.2345', 'a="x', 'a=(1', 'a=1 b', '']) {
    if (bad === '') { assert.equal(parseDictionary(bad).size, 0); continue; }
    assert.throws(() => parseDictionary(bad), SfvError, bad);
  }
});

test('SIGTERM exits cleanly', async () => {
  const c = spawn(process.execPath, [ORIGIN, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(c.stdout, 'data');
  c.kill('SIGTERM');
  const [code] = await once(c, 'exit');
  assert.equal(code, 0);
});
