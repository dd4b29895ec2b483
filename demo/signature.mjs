// The origin's side of `edgeseg-signature` (docs/contracts.md section 4, "Signature"):
// the worker signs its edgeseg-* request headers, the method, the path and a timestamp
// with HMAC-SHA256 under a secret it shares with the origin (EDGESEG_HEADER_KEY). An
// origin that has the secret trusts edgeseg-* headers only when the signature holds,
// so a client that reaches the origin directly cannot forge a segment.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE = 'edgeseg-signature';
export const MAX_SKEW_SECS = 300;

// edgeseg-v1 \n METHOD \n /path \n t \n name:value ... (names lower-case, sorted).
export function canonical(method, path, t, headers) {
  const lines = Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value])
    .filter(([name]) => name.startsWith('edgeseg-') && name !== SIGNATURE)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value}`);
  return ['edgeseg-v1', method, path, String(t), ...lines].join('\n');
}

export function sign(secret, method, path, t, headers) {
  const tag = createHmac('sha256', secret).update(canonical(method, path, t, headers)).digest('hex');
  return `t=${t}, v1="${tag}"`;
}

// headers: lower-case name -> value (node's req.headers). Returns null when the
// signature holds, else why not.
export function verify(secret, method, path, headers, nowSecs = Math.floor(Date.now() / 1000)) {
  const value = headers[SIGNATURE];
  if (typeof value !== 'string') return 'missing';
  const m = /^t=(\d{1,12}),\s*v1="([0-9a-f]{64})"$/.exec(value.trim());
  if (!m) return 'malformed';
  const t = Number(m[1]);
  if (Math.abs(nowSecs - t) > MAX_SKEW_SECS) return 'stale';
  const expected = createHmac('sha256', secret).update(canonical(method, path, t, headers)).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], 'hex')) ? null : 'mismatch';
}

// Whether a request carries any edgeseg header, in any spelling a server might fold
// into the same variable (`edgeseg_segment`, `EDGESEG-REASON`).
export const carriesEdgesegHeaders = (headers) =>
  Object.keys(headers).some((name) => /^edgeseg[-_]/i.test(name));

// A store-signed customer token for the worker (`customer.token_cookie`):
// `<id>.<expires unix secs>.<hex HMAC-SHA256(store key, "<id>.<expires>")>`.
export function customerToken(secret, id, expiresSecs) {
  const signed = `${id}.${expiresSecs}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('hex')}`;
}
