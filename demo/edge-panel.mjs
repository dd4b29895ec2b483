// "What the edge knows about you": renders the edgeseg-* request headers that the
// worker attached (docs/contracts.md section 4). Every header is parsed on its own;
// one that does not parse is shown raw with the parser's complaint, never a crash.

import { parseDictionary, parseItem, bareToString } from './sfv.mjs';
import { esc } from './html.mjs';

const REASONS = {
  MODEL: 'The intent model scored this session; rule segments were evaluated beside it.',
  RULES_ONLY: 'No model could be used, so the top matching rule segment is your segment.',
  CONSENT_WITHHELD: 'You withheld consent (a consent cookie or Global Privacy Control): the edge stores nothing about you.',
  HOLDOUT: 'This session is in the holdout group: the baseline experience, no signals.',
  ERROR: 'Something failed at the edge; the request reached the store unchanged apart from this.',
  UNTRACKED: 'The edge worker saw this request and deliberately left it untracked: nothing was counted or stored, and no segment was assigned.',
};

// Why an UNTRACKED request was left alone (the `why` parameter, docs/contracts.md section 4).
const UNTRACKED_WHY = {
  bot: 'It looks like a bot (a crawler, monitor, headless browser or HTTP library).',
  asset: 'It is a static asset or a path the store configuration ignores.',
  not_a_page: 'It is not a page view (HEAD, OPTIONS, or a write no route names).',
};

const KNOWN = ['edgeseg-reason', 'edgeseg-segment', 'edgeseg-signals', 'edgeseg-rules', 'edgeseg-version', 'edgeseg-error'];

// rawHeaders: Node's flat [name, value, name, value, ...] array.
export function edgeHeaders(rawHeaders) {
  const lines = [];
  const joined = new Map();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!name.startsWith('edgeseg-')) continue;
    lines.push([name, rawHeaders[i + 1]]);
    // RFC 9651 section 4.2: several lines of one field are combined with ", ".
    joined.set(name, joined.has(name) ? joined.get(name) + ', ' + rawHeaders[i + 1] : rawHeaders[i + 1]);
  }
  return { lines, joined };
}

function attempt(raw, fn) {
  if (raw === undefined) return { missing: true };
  try { return { value: fn(raw) }; } catch (e) { return { error: e.message || String(e), raw }; }
}

const num = (b) => (b && (b.type === 'decimal' || b.type === 'integer') ? b.value : null);
const pct = (x) => (x === null ? '—' : (Math.max(0, Math.min(1, x)) * 100).toFixed(1) + '%');
const fmt = (x) => (x === null || x === undefined ? '—' : Number.isInteger(x) ? String(x) : String(Math.round(x * 1000) / 1000));
const bareText = (b) => (!b ? '—' : b.type === 'string' || b.type === 'token' || b.type === 'displaystring' ? b.value : bareToString(b));
const paramText = (params, skip = []) =>
  [...params].filter(([k]) => !skip.includes(k)).map(([k, v]) => `${k}=${bareToString(v)}`).join('; ');

function unparsed(name, r) {
  return `<div class="es-bad">Could not parse <code>${esc(name)}</code> (${esc(r.error)}); raw value: <code>${esc(r.raw)}</code></div>`;
}

function bar(x, cls = '') {
  const w = x === null ? 0 : Math.max(0, Math.min(1, x)) * 100;
  return `<span class="es-bar ${cls}"><span style="width:${w.toFixed(1)}%"></span></span>`;
}

export function renderEdgePanel(rawHeaders) {
  const { lines, joined } = edgeHeaders(rawHeaders);
  let body;
  if (!lines.length) {
    body = `<p class="es-none">No <code>edgeseg-*</code> headers arrived with this request: the store was reached directly, not through the edge worker, so there is nothing to show.</p>`;
  } else {
    body = renderParsed(joined) + renderRaw(lines);
  }
  return `<section class="edge" aria-labelledby="edge-title"><h2 id="edge-title">What the edge knows about you</h2>${body}</section>`;
}

function renderParsed(h) {
  const parts = [];
  const reason = attempt(h.get('edgeseg-reason'), parseItem);
  const segment = attempt(h.get('edgeseg-segment'), parseItem);
  const error = attempt(h.get('edgeseg-error'), parseItem);
  const signals = attempt(h.get('edgeseg-signals'), parseDictionary);
  const rules = attempt(h.get('edgeseg-rules'), parseDictionary);
  const version = attempt(h.get('edgeseg-version'), parseDictionary);

  // Segment, confidence, intent.
  if (segment.value) {
    const p = segment.value.params;
    const conf = num(p.get('confidence'));
    const intent = num(p.get('intent'));
    const rest = paramText(p, ['confidence', 'intent']);
    parts.push(`<div class="es-seg">
      <div><div class="es-label">Segment</div><div class="es-segname">${esc(bareText(segment.value.item).replace(/_/g, ' '))}</div><code class="es-id">${esc(bareText(segment.value.item))}</code>${rest ? ` <code>${esc(rest)}</code>` : ''}</div>
      <div><div class="es-label">Confidence</div><div class="es-big">${pct(conf)}</div>${bar(conf)}</div>
      <div><div class="es-label">Purchase intent</div><div class="es-big">${pct(intent)}</div>${bar(intent, 'es-intent')}</div>
    </div>`);
  } else if (segment.error) parts.push(unparsed('edgeseg-segment', segment));
  else parts.push(`<p class="es-muted">No segment was assigned.</p>`);

  // Reason (and error code).
  if (reason.value) {
    const tok = bareText(reason.value.item);
    let text = REASONS[tok] || 'An unrecognised reason.';
    if (tok === 'UNTRACKED') {
      const why = bareText(reason.value.params.get('why'));
      text += ' ' + (UNTRACKED_WHY[why] || `Reason given: ${why}.`);
    }
    parts.push(`<p class="es-reason"><span class="es-badge es-r-${esc(tok.toLowerCase())}">${esc(tok)}</span> ${esc(text)}</p>`);
  } else if (reason.error) parts.push(unparsed('edgeseg-reason', reason));
  if (error.value) parts.push(`<p class="es-reason"><span class="es-badge es-r-error">error</span> <code>${esc(bareText(error.value.item))}</code></p>`);
  else if (error.error) parts.push(unparsed('edgeseg-error', error));

  // Signals: signed contribution to the intent, observed value.
  if (signals.value && signals.value.size) {
    const rows = [...signals.value].map(([name, m]) => {
      if (m.inner) return `<tr><td><code>${esc(name)}</code></td><td colspan="2">${esc(m.inner.map((x) => bareToString(x.item)).join(' '))}</td><td></td></tr>`;
      const c = num(m.item);
      const v = m.params.get('v');
      const cls = c === null ? '' : c > 0 ? 'es-pos' : c < 0 ? 'es-neg' : '';
      const width = c === null ? 0 : Math.min(50, Math.abs(c) * 200);
      const sideBar = `<span class="es-sbar"><span class="${cls}" style="width:${width.toFixed(1)}%;${c < 0 ? `right:50%` : 'left:50%'}"></span></span>`;
      return `<tr><td><code>${esc(name)}</code></td><td class="es-num ${cls}">${c === null ? esc(bareToString(m.item)) : (c > 0 ? '+' : '') + fmt(c)}</td><td>${sideBar}</td><td class="es-num">${v ? esc(v.type === 'decimal' || v.type === 'integer' ? fmt(v.value) : bareText(v)) : '—'}</td></tr>`;
    });
    parts.push(`<h3>Signals <small>what moved your purchase intent, against a typical shopper</small></h3>
      <table class="es-table"><thead><tr><th>signal</th><th class="es-num">contribution</th><th></th><th class="es-num">your value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  } else if (signals.error) parts.push(unparsed('edgeseg-signals', signals));

  // Matched rule segments.
  if (rules.value && rules.value.size) {
    const items = [...rules.value].map(([id, m]) => {
      const prio = m.params.get('priority');
      const conds = m.inner ? m.inner.map((x) => `<li><code>${esc(bareText(x.item))}</code></li>`).join('') : `<li><code>${esc(bareToString(m.item))}</code></li>`;
      return `<li><strong>${esc(id.replace(/_/g, ' '))}</strong> <code class="es-id">${esc(id)}</code>${prio ? ` <span class="es-muted">priority ${esc(bareText(prio))}</span>` : ''}<ul class="es-conds">${conds || '<li class="es-muted">no conditions: matches everyone</li>'}</ul></li>`;
    });
    parts.push(`<h3>Matched rule segments <small>each condition with your value in brackets</small></h3><ul class="es-rules">${items.join('')}</ul>`);
  } else if (rules.error) parts.push(unparsed('edgeseg-rules', rules));

  // Versions.
  if (version.value && version.value.size) {
    parts.push(`<p class="es-versions">${[...version.value].map(([k, m]) => `<span>${esc(k)} <code>${esc(m.inner ? '(…)' : bareText(m.item))}</code></span>`).join(' ')}</p>`);
  } else if (version.error) parts.push(unparsed('edgeseg-version', version));

  return parts.join('\n');
}

function renderRaw(lines) {
  const known = lines.filter(([n]) => KNOWN.includes(n)).length;
  const text = lines.map(([n, v]) => `${n}: ${v}`).join('\n');
  return `<details class="es-raw"${known ? '' : ' open'}><summary>Raw headers (${lines.length})</summary><pre>${esc(text)}</pre></details>`;
}
