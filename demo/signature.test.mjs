// The origin's signature check (demo/signature.mjs) against the contract's example
// vector, and the demo store run with its secrets: signed edgeseg-* headers pass,
// unsigned, tampered, stale and look-alike ones are refused. Run with `node --test demo/`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { canonical, customerToken, sign, verify } from './signature.mjs';

const ORIGIN = fileURLToPath(new URL('./origin.mjs', import.meta.url));
const HEADER_KEY = 'demo-header-key';
const TOKEN_KEY = 'demo-token-key';
// docs/contracts.md section 4, "Signature": the same vector is checked in Rust.
const EXAMPLE = {
  key: 'contract-example-key',
  headers: { 'edgeseg-reason': 'MODEL', 'edgeseg-segment': 'focused_buyer;confidence=0.812;intent=0.344' },
  signature: 't=1764000000, v1="f79dde637c0f441a833b2945da27c854238ca5e32cd23fee8c1085f6628667cd"',
  token: 'alice.1764003600.fb25599a3750b0da00e54b9e2a81844ae85a38e7fa464ff6f4dd37886ef08284',
};

let child;
let base;

before(async () => {
  child = spawn(process.execPath, [ORIGIN, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, EDGESEG_HEADER_KEY: HEADER_KEY, EDGESEG_STORE_TOKEN_KEY: TOKEN_KEY },
  });
  let out = '';
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes('\n')) break;
  }
  base = /listening on (http:\/\/\S+)/.exec(out)[1];
});

after(async () => {
  if (child.exitCode === null) { child.kill('SIGTERM'); await once(child, 'exit'); }
});

const now = () => Math.floor(Date.now() / 1000);

test('the contract example vector', () => {
  assert.equal(sign(EXAMPLE.key, 'GET', '/product/42', 1764000000, EXAMPLE.headers), EXAMPLE.signature);
  assert.equal(
    canonical('GET', '/p/1', 1764000000, { 'edgeseg-segment': 'a', 'Edgeseg-Reason': 'MODEL', 'edgeseg-signature': 'x', accept: 'y' }),
    'edgeseg-v1\nGET\n/p/1\n1764000000\nedgeseg-reason:MODEL\nedgeseg-segment:a',
  );
  const headers = { ...EXAMPLE.headers, 'edgeseg-signature': EXAMPLE.signature };
  assert.equal(verify(EXAMPLE.key, 'GET', '/product/42', headers, 1764000100), null);
  assert.equal(verify(EXAMPLE.key, 'GET', '/product/42', headers, 1764000400), 'stale');
  assert.equal(verify(EXAMPLE.key, 'GET', '/product/43', headers, 1764000000), 'mismatch');
  assert.equal(verify('other', 'GET', '/product/42', headers, 1764000000), 'mismatch');
  assert.equal(verify(EXAMPLE.key, 'GET', '/', EXAMPLE.headers, 1764000000), 'missing');
  assert.equal(verify(EXAMPLE.key, 'GET', '/', { 'edgeseg-signature': 't=1, v1=00' }, 1), 'malformed');
  assert.equal(customerToken(EXAMPLE.key, 'alice', 1764003600), EXAMPLE.token);
});

test('signed edgeseg-* headers reach the page', async () => {
  const headers = { 'edgeseg-reason': 'MODEL', 'edgeseg-segment': 'focused_buyer;confidence=0.9' };
  headers['edgeseg-signature'] = sign(HEADER_KEY, 'GET', '/product/101', now(), headers);
  const res = await fetch(`${base}/product/101?x=1`, { headers });
  assert.equal(res.status, 200);
  assert.ok((await res.text()).includes('focused_buyer'));
});

test('unsigned, tampered, stale and look-alike edgeseg headers are refused', async () => {
  const good = { 'edgeseg-segment': 'focused_buyer' };
  const signed = { ...good, 'edgeseg-signature': sign(HEADER_KEY, 'GET', '/', now(), good) };
  const cases = [
    [{ 'edgeseg-segment': 'vip' }, 'missing'],
    [{ ...signed, 'edgeseg-segment': 'vip' }, 'mismatch'],
    [{ ...signed, 'edgeseg-rules': 'vip=()' }, 'mismatch'],
    [{ ...good, 'edgeseg-signature': sign(HEADER_KEY, 'GET', '/', now() - 3600, good) }, 'stale'],
    [{ ...good, 'edgeseg-signature': sign('guessed', 'GET', '/', now(), good) }, 'mismatch'],
    [{ ...signed, edgeseg_reason: 'MODEL' }, 'look-alike header'],
  ];
  for (const [headers, why] of cases) {
    const res = await fetch(`${base}/`, { headers });
    assert.equal(res.status, 403, why);
    assert.match(await res.text(), new RegExp(`signature ${why}`));
  }
  // Signed for another path: refused there.
  const res = await fetch(`${base}/cart`, { headers: signed });
  assert.equal(res.status, 403);
  // No edgeseg headers at all: an ordinary visitor.
  assert.equal((await fetch(`${base}/`)).status, 200);
});

test('login sets a store-signed token; logout clears it and says so', async () => {
  const login = await fetch(`${base}/__origin/login?customer=alice`);
  const cookies = login.headers.getSetCookie();
  const token = cookies.map((c) => /^customer_token=([^;]+)/.exec(c)).find(Boolean)[1];
  const [id, expires] = token.split('.');
  assert.equal(id, 'alice');
  assert.equal(customerToken(TOKEN_KEY, 'alice', Number(expires)), token);
  assert.equal(login.headers.get('x-customer-id'), 'alice');

  const logout = await fetch(`${base}/account/logout`, { redirect: 'manual' });
  assert.equal(logout.status, 303);
  assert.equal(logout.headers.get('x-customer-logout'), '1');
  assert.ok(logout.headers.getSetCookie().some((c) => c.startsWith('customer_token=;') && c.includes('Max-Age=0')));
});
