// A small RFC 9651 (Structured Field Values) parser, enough to display the edge's
// headers. Parsing follows section 4.2 of the RFC and throws SfvError on anything
// malformed; callers catch it and show the raw value instead.
//
// Shapes returned:
//   bare item : { type: 'integer'|'decimal'|'string'|'token'|'bytes'|'boolean'|'date'|'displaystring', value }
//   item      : { item: bareItem, params: Map<key, bareItem> }
//   inner list: { inner: [item, ...], params: Map }
//   list      : [item | innerList, ...]
//   dictionary: Map<key, item | innerList>

export class SfvError extends Error {}

const isDigit = (c) => c >= '0' && c <= '9';
const isLcAlpha = (c) => c >= 'a' && c <= 'z';
const isAlpha = (c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

class Parser {
  constructor(input) {
    if (typeof input !== 'string') throw new SfvError('not a string');
    this.s = input;
    this.i = 0;
  }
  fail(msg) { throw new SfvError(`${msg} at ${this.i}`); }
  peek() { return this.s[this.i]; }
  eof() { return this.i >= this.s.length; }
  skipSP() { while (this.s[this.i] === ' ') this.i++; }
  skipOWS() { while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++; }
  finish() { this.skipSP(); if (!this.eof()) this.fail('trailing characters'); }

  list() {
    const out = [];
    while (!this.eof()) {
      out.push(this.itemOrInnerList());
      this.skipOWS();
      if (this.eof()) return out;
      if (this.s[this.i++] !== ',') this.fail('expected ","');
      this.skipOWS();
      if (this.eof()) this.fail('trailing comma');
    }
    return out;
  }

  dictionary() {
    const out = new Map();
    while (!this.eof()) {
      const key = this.key();
      let member;
      if (this.peek() === '=') { this.i++; member = this.itemOrInnerList(); }
      else member = { item: { type: 'boolean', value: true }, params: this.params() };
      out.set(key, member);
      this.skipOWS();
      if (this.eof()) return out;
      if (this.s[this.i++] !== ',') this.fail('expected ","');
      this.skipOWS();
      if (this.eof()) this.fail('trailing comma');
    }
    return out;
  }

  itemOrInnerList() { return this.peek() === '(' ? this.innerList() : this.item(); }

  innerList() {
    this.i++; // '('
    const inner = [];
    while (!this.eof()) {
      this.skipSP();
      if (this.peek() === ')') { this.i++; return { inner, params: this.params() }; }
      inner.push(this.item());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail('expected " " or ")" in inner list');
    }
    this.fail('unterminated inner list');
  }

  item() { const item = this.bareItem(); return { item, params: this.params() }; }

  params() {
    const params = new Map();
    while (this.peek() === ';') {
      this.i++;
      this.skipSP();
      const key = this.key();
      let value = { type: 'boolean', value: true };
      if (this.peek() === '=') { this.i++; value = this.bareItem(); }
      params.set(key, value);
    }
    return params;
  }

  key() {
    const c = this.peek();
    if (!(c && (isLcAlpha(c) || c === '*'))) this.fail('expected a key');
    const start = this.i;
    while (!this.eof() && /[a-z0-9_\-.*]/.test(this.s[this.i])) this.i++;
    return this.s.slice(start, this.i);
  }

  bareItem() {
    const c = this.peek();
    if (c === undefined) this.fail('expected an item');
    if (c === '-' || isDigit(c)) return this.number();
    if (c === '"') return this.string();
    if (c === '*' || isAlpha(c)) return this.token();
    if (c === ':') return this.bytes();
    if (c === '?') return this.boolean();
    if (c === '@') { this.i++; const n = this.number(); if (n.type !== 'integer') this.fail('bad date'); return { type: 'date', value: n.value }; }
    if (c === '%') return this.displayString();
    this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  number() {
    let sign = 1;
    if (this.peek() === '-') { sign = -1; this.i++; }
    if (!isDigit(this.peek() || '')) this.fail('expected a digit');
    const start = this.i;
    let dot = -1;
    while (!this.eof()) {
      const c = this.s[this.i];
      if (isDigit(c)) this.i++;
      else if (c === '.' && dot < 0) { if (this.i - start > 12) this.fail('decimal too long'); dot = this.i; this.i++; }
      else break;
      if (dot < 0 && this.i - start > 15) this.fail('integer too long');
      if (dot >= 0 && this.i - start > 16) this.fail('decimal too long');
    }
    const text = this.s.slice(start, this.i);
    if (dot < 0) return { type: 'integer', value: sign * Number(text) };
    const frac = this.i - dot - 1;
    if (frac < 1 || frac > 3) this.fail('decimal needs 1 to 3 fractional digits');
    return { type: 'decimal', value: sign * Number(text) };
  }

  string() {
    this.i++;
    let out = '';
    while (!this.eof()) {
      const c = this.s[this.i++];
      if (c === '\\') {
        const n = this.s[this.i++];
        if (n !== '"' && n !== '\\') this.fail('bad escape');
        out += n;
      } else if (c === '"') return { type: 'string', value: out };
      else if (c < ' ' || c > '~') this.fail('bad string character');
      else out += c;
    }
    this.fail('unterminated string');
  }

  token() {
    const start = this.i++;
    while (!this.eof() && (TCHAR.test(this.s[this.i]) || this.s[this.i] === ':' || this.s[this.i] === '/')) this.i++;
    return { type: 'token', value: this.s.slice(start, this.i) };
  }

  bytes() {
    const end = this.s.indexOf(':', this.i + 1);
    if (end < 0) this.fail('unterminated byte sequence');
    const b64 = this.s.slice(this.i + 1, end);
    if (!/^[A-Za-z0-9+/=]*$/.test(b64)) this.fail('bad base64');
    this.i = end + 1;
    return { type: 'bytes', value: Buffer.from(b64, 'base64') };
  }

  boolean() {
    this.i++;
    const c = this.s[this.i++];
    if (c === '1') return { type: 'boolean', value: true };
    if (c === '0') return { type: 'boolean', value: false };
    this.fail('bad boolean');
  }

  displayString() {
    this.i++;
    if (this.s[this.i++] !== '"') this.fail('expected \'"\'');
    const bytes = [];
    while (!this.eof()) {
      const c = this.s[this.i++];
      if (c === '%') {
        const hex = this.s.slice(this.i, this.i + 2);
        if (!/^[0-9a-f]{2}$/.test(hex)) this.fail('bad percent escape');
        bytes.push(parseInt(hex, 16));
        this.i += 2;
      } else if (c === '"') {
        try { return { type: 'displaystring', value: new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes)) }; }
        catch { this.fail('bad UTF-8'); }
      } else if (c < ' ' || c > '~') this.fail('bad character');
      else bytes.push(c.charCodeAt(0));
    }
    this.fail('unterminated display string');
  }
}

function top(input, what) {
  const p = new Parser(input);
  p.skipSP();
  const out = p[what]();
  p.finish();
  return out;
}

export const parseList = (s) => top(s, 'list');
export const parseDictionary = (s) => top(s, 'dictionary');
export const parseItem = (s) => top(s, 'item');

// A bare item back to its wire form, for display.
export function bareToString(b) {
  switch (b.type) {
    case 'string': return JSON.stringify(b.value);
    case 'boolean': return b.value ? '?1' : '?0';
    case 'bytes': return ':' + b.value.toString('base64') + ':';
    case 'date': return '@' + b.value;
    case 'displaystring': return '%' + JSON.stringify(b.value);
    default: return String(b.value);
  }
}
