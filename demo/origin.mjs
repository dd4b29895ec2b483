#!/usr/bin/env node
// edgeseg demo origin: a small online store that the edgeseg worker sits in front of,
// and a set of test endpoints for the end-to-end tests and the benchmark.
// Zero dependencies: node:http, node:crypto, node:stream only (Node 20).
//
//   node demo/origin.mjs [--port N] [--host 127.0.0.1] [--log]
//
// Secrets, from the environment (both optional):
//   EDGESEG_HEADER_KEY       the worker's header-signing secret: when set, a request that
//                            carries edgeseg-* headers (or _ look-alikes) without a valid
//                            edgeseg-signature is refused with 403 (demo/signature.mjs).
//   EDGESEG_STORE_TOKEN_KEY  when set, login also sets the store-signed customer token
//                            cookie `customer_token` the worker verifies.
//
// --port 0 picks a free port. On listen, prints exactly one line to stdout:
//   edgeseg-demo-origin listening on http://127.0.0.1:PORT
// SIGTERM / SIGINT close the server and exit 0. --log logs one line per request to stderr.
//
// Store pages (GET/HEAD; each shows the edge's edgeseg-* request headers in a panel):
//   /  /category/:slug[?sort=price_asc|price_desc|newest&color=&size=&max_price=]
//   /product/:id  /compare?ids=a,b  /search?q=  /sale  /cart  /checkout  /account
//   /about  /help/shipping  /contact
// Store forms (POST, application/x-www-form-urlencoded):
//   /cart/add (product[, qty]) -> 303 /cart     /cart/remove (product) -> 303 /cart
//   /checkout -> order confirmation, clears the cart
//   /account/login (customer) -> 200, Set-Cookie customer_id=<id>; Path=/ and x-customer-id: <id>
//   /account/logout -> 303 /account (GET also accepted), x-customer-logout: 1
//   /consent (value=yes|no, return=/path) -> Set-Cookie consent=yes|no, 303 back
// Cookies: demo_cart (cart "id:qty|id:qty", URI-encoded), customer_id, consent.
//
// Test endpoints:
//   ANY  /__origin/echo          JSON {method, url, path, query, headers, raw_headers, http_version,
//                                body_length, body_sha256}. headers: lowercased name -> string, or an
//                                array of strings when the header was sent more than once; raw_headers:
//                                [[name, value], ...] as received. query: name -> string (array if
//                                repeated). The body is hashed as it streams in, never buffered.
//   GET  /__origin/bytes?n=N     N bytes, byte i = i % 251, content-length N, streamed in 64 KB
//                                chunks with backpressure. HEAD: headers only.
//   POST /__origin/upload        streams the body, JSON {length, sha256}.
//   GET  /__origin/redirect?to=/x&code=302   redirect (301|302|303|307|308) to a local path.
//   GET  /__origin/cookies       three distinct Set-Cookie headers (a, b, c), JSON body.
//   GET  /__origin/status?code=N that status (200..599) with a small text body.
//   GET  /__origin/ping          200 text/plain "pong" (benchmark target).
//   GET  /__origin/login?customer=ID   Set-Cookie customer_id=ID; Path=/, x-customer-id: ID, JSON.

import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { PRODUCT_BY_ID, CATEGORY_BY_SLUG, search } from './catalog.mjs';
import * as pages from './pages.mjs';
import { carriesEdgesegHeaders, customerToken, verify } from './signature.mjs';

const FORM_LIMIT = 64 * 1024;
const TOKEN_SECS = 30 * 86400;
const CUSTOMER_RE = /^[A-Za-z0-9._@-]{1,64}$/;
const PONG = Buffer.from('pong');
const PONG_HEADERS = ['content-type', 'text/plain', 'content-length', '4'];
const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

// ---------- helpers ----------

class HttpError extends Error {
  constructor(status, message, headers = {}) { super(message); this.status = status; this.headers = headers; }
}

function send(res, status, body, headers) {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, { ...headers, 'content-length': buf.length });
  res.end(buf);
}
const sendJson = (res, status, obj, headers = {}) =>
  send(res, status, JSON.stringify(obj) + '\n', { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
const redirect = (res, status, location, headers = {}) =>
  send(res, status, `Redirecting to ${location}\n`, { location, 'content-type': 'text/plain; charset=utf-8', ...headers });

function parseCookies(header) {
  const out = Object.create(null);
  for (const part of String(header || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try { value = decodeURIComponent(value); } catch { /* keep as is */ }
    out[name] = value;
  }
  return out;
}

function parseCart(value) {
  const cart = new Map();
  for (const part of String(value || '').split('|')) {
    const [id, q] = part.split(':');
    const qty = Math.floor(Number(q));
    if (PRODUCT_BY_ID.has(id) && qty > 0) cart.set(id, Math.min(9, (cart.get(id) || 0) + qty));
  }
  return cart;
}
const cartCookie = (cart) => cart.size
  ? `demo_cart=${encodeURIComponent([...cart].map(([id, q]) => `${id}:${q}`).join('|'))}; Path=/; SameSite=Lax`
  : 'demo_cart=; Path=/; Max-Age=0; SameSite=Lax';
const cartItems = (cart) => [...cart].map(([id, qty]) => ({ p: PRODUCT_BY_ID.get(id), qty }));

async function readForm(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > FORM_LIMIT) throw new HttpError(413, 'form too large', { connection: 'close' });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Hashes a request body as it streams in.
async function digestBody(req) {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of req) { hash.update(chunk); length += chunk.length; }
  return { length, sha256: hash.digest('hex') };
}

function multiMap(pairs) {
  const out = Object.create(null);
  for (const [k, v] of pairs) {
    if (!(k in out)) out[k] = v;
    else if (Array.isArray(out[k])) out[k].push(v);
    else out[k] = [out[k], v];
  }
  return out;
}

const localPath = (p) => typeof p === 'string' && p.startsWith('/') && !p.startsWith('//') && !/[\\\x00-\x20\x7f]/.test(p);

// The repeating byte pattern of /__origin/bytes: byte i is i % 251. A chunk starting
// at offset o is a view of PATTERN from o % 251, so nothing is ever copied.
const CHUNK = 251 * 255;
const PATTERN = Buffer.alloc(251 * 256);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251;

function patternStream(n) {
  let offset = 0;
  return new Readable({
    highWaterMark: 4 * CHUNK,
    read() {
      while (offset < n) {
        const len = Math.min(CHUNK, n - offset);
        const start = offset % 251;
        offset += len;
        if (!this.push(PATTERN.subarray(start, start + len))) return;
      }
      this.push(null);
    },
  });
}

// Set-Cookie values of a login: the store's own cookie, and with a store token key the
// signed token the worker may verify.
function loginCookies(customer, tokenKey) {
  const cookies = [`customer_id=${customer}; Path=/`];
  if (tokenKey) {
    const token = customerToken(tokenKey, customer, Math.floor(Date.now() / 1000) + TOKEN_SECS);
    cookies.push(`customer_token=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${TOKEN_SECS}`);
  }
  return cookies;
}
const LOGOUT_HEADERS = {
  'set-cookie': ['customer_id=; Path=/; Max-Age=0', 'customer_token=; Path=/; Max-Age=0'],
  'x-customer-logout': '1',
};

// ---------- test endpoints ----------

async function originEndpoint(req, res, path, query, keys) {
  const m = req.method;
  const only = (...methods) => { if (!methods.includes(m)) throw new HttpError(405, 'method not allowed', { allow: methods.join(', ') }); };
  switch (path) {
    case '/__origin/echo': {
      const raw = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw.push([req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]]);
      const q = req.url.indexOf('?');
      const { length, sha256 } = await digestBody(req);
      return sendJson(res, 200, {
        method: m, url: req.url, path, query: multiMap(query), headers: multiMap(raw), raw_headers: raw,
        http_version: req.httpVersion, raw_query: q < 0 ? '' : req.url.slice(q + 1), body_length: length, body_sha256: sha256,
      });
    }
    case '/__origin/bytes': {
      only('GET', 'HEAD');
      const text = query.get('n') ?? '0';
      if (!/^\d{1,15}$/.test(text)) throw new HttpError(400, 'n must be a non-negative integer');
      const n = Number(text);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n, 'cache-control': 'no-store' });
      if (m === 'HEAD' || n === 0) return res.end();
      return new Promise((resolve) => pipeline(patternStream(n), res, () => resolve()));
    }
    case '/__origin/upload': {
      only('POST', 'PUT');
      return sendJson(res, 200, await digestBody(req));
    }
    case '/__origin/redirect': {
      const to = query.get('to') ?? '/';
      const code = Number(query.get('code') ?? 302);
      if (![301, 302, 303, 307, 308].includes(code)) throw new HttpError(400, 'code must be 301, 302, 303, 307 or 308');
      if (!localPath(to)) throw new HttpError(400, 'to must be a local path starting with /');
      return redirect(res, code, to);
    }
    case '/__origin/cookies': {
      const cookies = ['a=1; Path=/', 'b=2; Path=/; HttpOnly', 'c=3; Path=/; Max-Age=3600; SameSite=Lax'];
      return sendJson(res, 200, { set_cookie: cookies }, { 'set-cookie': cookies });
    }
    case '/__origin/status': {
      const text = query.get('code') ?? '200';
      const code = /^\d{3}$/.test(text) ? Number(text) : 0;
      if (code < 200 || code > 599) throw new HttpError(400, 'code must be 200..599');
      if ([204, 205, 304].includes(code)) { res.writeHead(code); return res.end(); }
      return send(res, code, `status ${code}\n`, { 'content-type': 'text/plain; charset=utf-8' });
    }
    case '/__origin/ping':
      res.writeHead(200, PONG_HEADERS);
      return res.end(PONG);
    case '/__origin/login': {
      const customer = query.get('customer') ?? '';
      if (!CUSTOMER_RE.test(customer)) throw new HttpError(400, 'customer must be 1..64 of [A-Za-z0-9._@-]');
      return sendJson(res, 200, { customer }, { 'set-cookie': loginCookies(customer, keys.tokenKey), 'x-customer-id': customer });
    }
    case '/__origin/logout':
      return sendJson(res, 200, { logout: true }, LOGOUT_HEADERS);
    default:
      throw new HttpError(404, 'no such test endpoint');
  }
}

// ---------- store ----------

async function store(req, res, path, query, keys) {
  const m = req.method;
  const cookies = parseCookies(req.headers.cookie);
  const ctx = {
    rawHeaders: req.rawHeaders,
    path: req.url.length <= 512 && localPath(req.url) ? req.url : path,
    cart: parseCart(cookies.demo_cart),
    customer: CUSTOMER_RE.test(cookies.customer_id || '') ? cookies.customer_id : null,
    consent: cookies.consent === 'yes' || cookies.consent === 'no' ? cookies.consent : null,
  };
  const page = (status, title, main, headers = {}) => send(res, status, pages.layout(ctx, title, main), { ...HTML_HEADERS, ...headers });
  const get = m === 'GET' || m === 'HEAD';
  const post = m === 'POST';
  const allow = (a) => { throw new HttpError(405, 'method not allowed', { allow: a }); };

  if (path === '/') return get ? page(200, 'Home', pages.home()) : allow('GET, HEAD');
  let mt;
  if ((mt = /^\/category\/([^/]+)\/?$/.exec(path))) {
    if (!get) allow('GET, HEAD');
    const cat = CATEGORY_BY_SLUG.get(mt[1]);
    return cat ? page(200, cat.name, pages.category(cat, query)) : page(404, 'Not found', pages.notFound());
  }
  if ((mt = /^\/product\/([^/]+)\/?$/.exec(path))) {
    if (!get) allow('GET, HEAD');
    const p = PRODUCT_BY_ID.get(mt[1]);
    return p ? page(200, p.name, pages.product(p)) : page(404, 'Not found', pages.notFound());
  }
  switch (path) {
    case '/search': {
      if (!get) allow('GET, HEAD');
      const q = (query.get('q') || '').slice(0, 200).trim();
      return page(200, q ? `Search: ${q}` : 'Search', pages.searchPage(q, search(q)));
    }
    case '/sale': return get ? page(200, 'Sale', pages.sale()) : allow('GET, HEAD');
    case '/compare': {
      if (!get) allow('GET, HEAD');
      const ids = [...new Set((query.get('ids') || '').split(','))].filter((id) => PRODUCT_BY_ID.has(id)).slice(0, 4);
      return page(200, 'Compare', pages.compare(ids.map((id) => PRODUCT_BY_ID.get(id))));
    }
    case '/cart': return get ? page(200, 'Cart', pages.cart(cartItems(ctx.cart))) : allow('GET, HEAD');
    case '/cart/add': {
      if (!post) allow('POST');
      const form = await readForm(req);
      const id = form.get('product') || '';
      if (!PRODUCT_BY_ID.has(id)) return page(404, 'Not found', pages.notFound());
      const qty = Math.max(1, Math.min(9, Math.floor(Number(form.get('qty') || 1)) || 1));
      if (!ctx.cart.has(id) && ctx.cart.size >= 20) throw new HttpError(400, 'cart is full');
      ctx.cart.set(id, Math.min(9, (ctx.cart.get(id) || 0) + qty));
      return redirect(res, 303, '/cart', { 'set-cookie': cartCookie(ctx.cart) });
    }
    case '/cart/remove': {
      if (!post) allow('POST');
      const form = await readForm(req);
      ctx.cart.delete(form.get('product') || '');
      return redirect(res, 303, '/cart', { 'set-cookie': cartCookie(ctx.cart) });
    }
    case '/checkout': {
      if (get) return page(200, 'Checkout', pages.checkout(cartItems(ctx.cart)));
      if (!post) allow('GET, HEAD, POST');
      await readForm(req);
      const items = cartItems(ctx.cart);
      if (!items.length) return page(200, 'Checkout', pages.checkout(items));
      const order = 'FH-' + randomBytes(4).toString('hex').toUpperCase();
      ctx.cart = new Map();
      return page(200, 'Order confirmed', pages.orderConfirmed(order, items), { 'set-cookie': cartCookie(ctx.cart) });
    }
    case '/account': return get ? page(200, 'Account', pages.account(ctx.customer)) : allow('GET, HEAD');
    case '/account/login': {
      if (!post) allow('POST');
      const customer = ((await readForm(req)).get('customer') || '').trim();
      if (!CUSTOMER_RE.test(customer)) return page(400, 'Sign in', pages.account(null, 'A customer id is 1 to 64 letters, digits or ._@- characters.'));
      ctx.customer = customer;
      // 200 rather than a redirect, so x-customer-id reaches the edge even if it follows redirects.
      return page(200, 'Account', pages.account(customer), { 'set-cookie': loginCookies(customer, keys.tokenKey), 'x-customer-id': customer });
    }
    case '/account/logout': {
      if (!get && !post) allow('GET, HEAD, POST');
      if (post) await readForm(req);
      return redirect(res, 303, '/account', LOGOUT_HEADERS);
    }
    case '/consent': {
      if (!post) allow('POST');
      const form = await readForm(req);
      const value = form.get('value') === 'yes' ? 'yes' : 'no';
      const back = form.get('return');
      return redirect(res, 303, localPath(back) ? back : '/', { 'set-cookie': `consent=${value}; Path=/; Max-Age=31536000; SameSite=Lax` });
    }
  }
  const info = pages.INFO[path.length > 1 ? path.replace(/\/$/, '') : path];
  if (info) return get ? page(200, info[0], info[1]) : allow('GET, HEAD');
  return page(404, 'Not found', pages.notFound());
}

// ---------- server ----------

async function route(req, res, keys) {
  const url = req.url || '/';
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  try { path = decodeURIComponent(path); } catch { throw new HttpError(400, 'bad path encoding'); }
  if (keys.headerKey && carriesEdgesegHeaders(req.headers)) {
    const rawPath = q < 0 ? url : url.slice(0, q);
    const lookAlike = Object.keys(req.headers).some((name) => /^edgeseg_/i.test(name));
    const why = lookAlike ? 'look-alike header' : verify(keys.headerKey, req.method, rawPath, req.headers);
    if (why) throw new HttpError(403, `edgeseg-* headers refused: signature ${why}`);
  }
  if (path.startsWith('/__origin/')) return originEndpoint(req, res, path, query, keys);
  return store(req, res, path, query, keys);
}

function fail(req, res, err) {
  const status = err instanceof HttpError ? err.status : 500;
  if (status === 500) console.error('edgeseg-demo-origin: error on', req.method, req.url, err);
  if (res.headersSent) { res.destroy(); return; }
  if (!req.complete) res.setHeader('connection', 'close');
  send(res, status, `${status} ${err instanceof HttpError ? err.message : 'internal error'}\n`,
    { 'content-type': 'text/plain; charset=utf-8', ...(err.headers || {}) });
}

export function createOrigin({ log = false, headerKey = '', tokenKey = '' } = {}) {
  const keys = { headerKey, tokenKey };
  const server = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    // The benchmark target first, before any parsing.
    if (req.url === '/__origin/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, PONG_HEADERS);
      res.end(PONG);
      return;
    }
    if (log) {
      const t0 = process.hrtime.bigint();
      res.on('finish', () => console.error(`${req.method} ${req.url} ${res.statusCode} ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)}ms`));
    }
    route(req, res, keys).catch((err) => fail(req, res, err));
  });
  server.keepAliveTimeout = 65_000; // longer than a proxy's idle timeout
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // large uploads may take long
  return server;
}

function usage(msg) {
  console.error(`${msg}\nusage: node demo/origin.mjs [--port N] [--host 127.0.0.1] [--log]`);
  process.exit(2);
}

function main(argv) {
  let port = 8788;
  let host = '127.0.0.1';
  let log = false;
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s);
    const next = () => (value !== undefined ? value : argv[++i] ?? usage(`${flag} needs a value`));
    if (flag === '--port') {
      const v = next();
      if (!/^\d+$/.test(v) || Number(v) > 65535) usage(`bad port: ${v}`);
      port = Number(v);
    } else if (flag === '--host') host = next();
    else if (flag === '--log') log = true;
    else if (flag === '--help' || flag === '-h') usage('edgeseg demo origin');
    else usage(`unknown argument: ${argv[i]}`);
  }
  // A harness may close our pipes after reading the listen line; that must not kill us.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const server = createOrigin({
    log,
    headerKey: process.env.EDGESEG_HEADER_KEY || '',
    tokenKey: process.env.EDGESEG_STORE_TOKEN_KEY || '',
  });
  server.on('error', (err) => { console.error(`edgeseg-demo-origin: ${err.message}`); process.exit(1); });
  server.listen(port, host, () => {
    const { port: actual } = server.address();
    const shown = host.includes(':') ? `[${host}]` : host;
    process.stdout.write(`edgeseg-demo-origin listening on http://${shown}:${actual}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
