// The store's pages. Each function returns the HTML of <main>; `layout` wraps it with
// the header, the consent banner, the edge panel and the beacon script.

import { STORE_NAME, CATEGORIES, CATEGORY_BY_SLUG, PRODUCTS, PRODUCT_BY_ID, SORTS, formatPrice } from './catalog.mjs';
import { renderEdgePanel } from './edge-panel.mjs';
import { esc } from './html.mjs';

const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2521;background:#f7f5f0}
a{color:#235b45}a:hover{color:#123a2b}code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace}
.wrap{max-width:1080px;margin:0 auto;padding:0 20px}
header.top{background:#1f3b30;color:#f2efe6}header.top .wrap{display:flex;gap:18px;align-items:center;flex-wrap:wrap;padding:12px 20px}
header.top a{color:#f2efe6;text-decoration:none}.logo{font-weight:700;font-size:18px;letter-spacing:.3px;margin-right:auto}
header.top nav{display:flex;gap:14px;flex-wrap:wrap}header.top form{display:flex}
header.top input{border:0;border-radius:6px 0 0 6px;padding:6px 10px;width:170px}header.top form button{border:0;border-radius:0 6px 6px 0;background:#d9b35b;padding:6px 10px;cursor:pointer}
.consent{background:#fff8e1;border-bottom:1px solid #ead9a6;font-size:14px}.consent .wrap{display:flex;gap:12px;align-items:center;padding:8px 20px;flex-wrap:wrap}
.consent form{display:inline}.consent p{margin:0;flex:1}
main{padding:24px 0 8px}h1{font-size:26px;margin:0 0 12px}h2{font-size:19px}
.btn{display:inline-block;border:1px solid #1f3b30;background:#1f3b30;color:#fff;border-radius:7px;padding:7px 14px;font:inherit;cursor:pointer;text-decoration:none}
.btn:hover{color:#fff;background:#2d5444}.btn.ghost{background:transparent;color:#1f3b30}.btn.small{padding:3px 10px;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px;padding:0;margin:0;list-style:none}
.card{background:#fff;border:1px solid #e4dfd3;border-radius:10px;overflow:hidden}.card a{text-decoration:none;color:inherit;display:block}
.card:hover{border-color:#9db8a9;box-shadow:0 2px 10px #0001}.card .info{padding:10px 12px}.card .name{font-weight:600}
.swatch{height:120px;display:flex;align-items:center;justify-content:center;font-size:38px;font-weight:700;color:#fffc}
.swatch.big{height:300px;border-radius:12px;font-size:90px}
.price{font-weight:700}.was{text-decoration:line-through;color:#8a8a8a;margin-left:6px;font-weight:400}.tag{font-size:12px;background:#c43c2f;color:#fff;border-radius:4px;padding:1px 6px;margin-left:6px}
.cats{display:flex;gap:10px;flex-wrap:wrap;margin:0 0 20px;padding:0;list-style:none}.cats a{display:block;padding:8px 14px;border-radius:20px;background:#fff;border:1px solid #e4dfd3;text-decoration:none}
.hero{background:linear-gradient(120deg,#29493c,#4d7a5f);color:#fff;border-radius:14px;padding:28px;margin-bottom:22px}.hero h1{font-size:30px}.hero a{color:#ffe7a8}
.bar{display:flex;gap:8px 18px;flex-wrap:wrap;align-items:center;margin:0 0 16px;font-size:14px}.bar a.on{font-weight:700;text-decoration:none;color:#1d2521}
.product{display:grid;grid-template-columns:1fr 1fr;gap:28px}@media(max-width:720px){.product{grid-template-columns:1fr}}
.product form{display:inline-block;margin:4px 8px 4px 0}select{font:inherit;padding:5px}
table.cart{width:100%;border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden}table.cart td,table.cart th{padding:9px 12px;border-bottom:1px solid #eee;text-align:left}
.muted{color:#6b716d}.notice{background:#e9f4ee;border:1px solid #b8d8c6;border-radius:8px;padding:10px 14px}
label{display:block;margin:8px 0 4px}input[type=text],input[type=email]{font:inherit;padding:6px 10px;border:1px solid #ccc;border-radius:6px;width:260px}
footer{padding:20px 0 40px;color:#6b716d;font-size:14px}footer a{margin-right:14px}
.edge{margin:30px 0 10px;background:#14201b;color:#e7efe9;border-radius:14px;padding:18px 22px 14px}.edge h2{margin:0 0 12px;color:#d9b35b}
.edge h3{font-size:15px;margin:18px 0 6px;color:#cfe0d6}.edge h3 small{font-weight:400;color:#8fa69a;margin-left:6px}.edge code{color:#f3d98f}
.es-seg{display:grid;grid-template-columns:1.3fr 1fr 1fr;gap:18px}@media(max-width:640px){.es-seg{grid-template-columns:1fr}}
.es-label{font-size:12px;text-transform:uppercase;letter-spacing:.8px;color:#8fa69a}.es-segname{font-size:22px;font-weight:700}.es-segname::first-letter{text-transform:uppercase}.es-big{font-size:22px;font-weight:700}
.es-bar{display:block;height:6px;background:#2c3b34;border-radius:3px;margin-top:4px;overflow:hidden}.es-bar span{display:block;height:100%;background:#d9b35b}.es-bar.es-intent span{background:#5fc48d}
.es-reason{margin:14px 0 4px}.es-badge{font:12px ui-monospace,monospace;background:#2f4a3d;border-radius:4px;padding:2px 7px;margin-right:6px}
.es-r-error,.es-r-consent_withheld{background:#6b2b25}.es-r-holdout{background:#4b3f66}
.es-table{border-collapse:collapse;width:100%;font-size:14px}.es-table th{text-align:left;font-weight:400;color:#8fa69a;font-size:12px}.es-table td,.es-table th{padding:3px 8px;border-bottom:1px solid #24332c}
.es-num{text-align:right;font-variant-numeric:tabular-nums}.es-pos{color:#5fc48d}.es-neg{color:#ef8a7d}
.es-sbar{display:block;position:relative;width:160px;height:8px;background:#22302a;border-radius:4px}.es-sbar span{position:absolute;top:0;bottom:0;border-radius:4px}
.es-sbar span.es-pos{background:#5fc48d}.es-sbar span.es-neg{background:#ef8a7d}
.es-rules{margin:0;padding-left:18px}.es-conds{margin:2px 0 8px;padding-left:18px}.es-muted,.es-none{color:#8fa69a}.es-id{font-size:12px}
.es-versions{font-size:13px;color:#8fa69a;display:flex;gap:16px;flex-wrap:wrap}
.es-bad{background:#3a2220;border-radius:6px;padding:6px 10px;margin:8px 0;font-size:13px}
.es-raw summary{cursor:pointer;color:#8fa69a;font-size:13px;margin-top:8px}.es-raw pre{white-space:pre-wrap;word-break:break-all;background:#0d1512;padding:10px;border-radius:8px;font-size:12.5px}
`;

// ctx: { rawHeaders, path, cart: Map<id, qty>, customer, consent }
export function layout(ctx, title, main) {
  const count = [...ctx.cart.values()].reduce((a, b) => a + b, 0);
  const banner = ctx.consent ? '' : `<div class="consent"><div class="wrap"><p>This store uses an edge service that remembers your visit to tailor it to you. OK with that? If you decline, the edge stores nothing about you.</p>
<form method="post" action="/consent"><input type="hidden" name="value" value="yes"><input type="hidden" name="return" value="${esc(ctx.path)}"><button class="btn small">Accept</button></form>
<form method="post" action="/consent"><input type="hidden" name="value" value="no"><input type="hidden" name="return" value="${esc(ctx.path)}"><button class="btn small ghost">Decline</button></form></div></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · ${esc(STORE_NAME)}</title><style>${CSS}</style>
<script src="/__edgeseg/beacon.js" defer></script></head>
<body><header class="top"><div class="wrap"><a class="logo" href="/">${esc(STORE_NAME)}</a>
<nav>${CATEGORIES.map((c) => `<a href="/category/${c.slug}">${esc(c.name)}</a>`).join('')}<a href="/sale">Sale</a></nav>
<form action="/search" method="get" role="search"><input type="search" name="q" placeholder="Search the store" aria-label="Search"><button>Search</button></form>
<nav><a href="/account">${ctx.customer ? esc(ctx.customer) : 'Account'}</a><a href="/cart">Cart (${count})</a></nav></div></header>
${banner}<div class="wrap"><main>${main}</main>
${renderEdgePanel(ctx.rawHeaders)}
<footer><a href="/about">About</a><a href="/help/shipping">Shipping &amp; returns</a><a href="/contact">Contact</a><span>Consent: ${esc(ctx.consent || 'not chosen')}</span></footer></div>
</body></html>`;
}

function swatch(p, big = false) {
  const hue = CATEGORY_BY_SLUG.get(p.category).hue + (Number(p.id) % 5) * 9;
  return `<div class="swatch${big ? ' big' : ''}" style="background:linear-gradient(135deg,hsl(${hue} 38% 42%),hsl(${hue + 25} 45% 62%))" aria-hidden="true">${esc(p.name[0])}</div>`;
}

function priceHtml(p) {
  return `<span class="price">${formatPrice(p.price)}</span>${p.was ? `<span class="was">${formatPrice(p.was)}</span><span class="tag">-${Math.round((1 - p.price / p.was) * 100)}%</span>` : ''}`;
}

export function cards(list) {
  if (!list.length) return `<p class="muted">Nothing here.</p>`;
  return `<ul class="grid">${list.map((p) => `<li class="card" data-edgeseg-product="${esc(p.id)}"><a href="/product/${esc(p.id)}">${swatch(p)}<div class="info"><div class="name">${esc(p.name)}</div>${priceHtml(p)}</div></a></li>`).join('')}</ul>`;
}

export function home() {
  const featured = [...PRODUCTS].sort(SORTS.newest.cmp).slice(0, 8);
  return `<div class="hero"><h1>Well-made things for everyday use</h1><p>Free shipping over $50, 60-day returns. <a href="/sale">This week's sale &rarr;</a></p></div>
<ul class="cats">${CATEGORIES.map((c) => `<li><a href="/category/${c.slug}">${esc(c.name)}</a></li>`).join('')}</ul>
<h2>New arrivals</h2>${cards(featured)}`;
}

// query: URLSearchParams. Filters: color, size, max_price (dollars). Sort: SORTS keys.
export function category(cat, query) {
  let list = PRODUCTS.filter((p) => p.category === cat.slug);
  const all = list;
  const color = query.get('color');
  const size = query.get('size');
  const maxPrice = Number(query.get('max_price'));
  if (color) list = list.filter((p) => p.color === color);
  if (size) list = list.filter((p) => p.sizes.includes(size));
  if (maxPrice > 0) list = list.filter((p) => p.price <= maxPrice * 100);
  const sort = SORTS[query.get('sort')] ? query.get('sort') : null;
  if (sort) list = [...list].sort(SORTS[sort].cmp);

  const link = (changes) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) v === null ? q.delete(k) : q.set(k, v);
    const s = q.toString();
    return `/category/${cat.slug}${s ? '?' + s : ''}`;
  };
  const opt = (key, value, label, current) => `<a href="${esc(link({ [key]: current === value ? null : value }))}"${current === value ? ' class="on"' : ''}>${esc(label)}</a>`;
  const colors = [...new Set(all.map((p) => p.color))].sort();
  const sizes = [...new Set(all.flatMap((p) => p.sizes))];
  return `<h1>${esc(cat.name)}</h1><p class="muted">${esc(cat.blurb)}</p>
<div class="bar"><span class="muted">Sort:</span>${Object.entries(SORTS).map(([k, s]) => opt('sort', k, s.label, sort)).join('')}</div>
<div class="bar"><span class="muted">Colour:</span>${colors.map((c) => opt('color', c, c, color)).join('')}
${sizes.length ? `<span class="muted">Size:</span>${sizes.map((s) => opt('size', s, s.toUpperCase(), size)).join('')}` : ''}
<span class="muted">Price:</span>${opt('max_price', '50', 'under $50', query.get('max_price'))}${opt('max_price', '100', 'under $100', query.get('max_price'))}
${color || size || maxPrice ? `<a href="/category/${cat.slug}${sort ? '?sort=' + sort : ''}">clear filters</a>` : ''}</div>
${cards(list)}`;
}

export function product(p) {
  const cat = CATEGORY_BY_SLUG.get(p.category);
  const similar = PRODUCTS.filter((x) => x.category === p.category && x.id !== p.id).slice(0, 4);
  return `<p class="muted"><a href="/category/${cat.slug}">${esc(cat.name)}</a></p>
<div class="product">${swatch(p, true)}<div>
<h1>${esc(p.name)}</h1><p>${priceHtml(p)}</p><p>${esc(p.summary)}</p><p class="muted">Colour: ${esc(p.color)} · Item ${esc(p.id)}</p>
<form method="post" action="/cart/add"><input type="hidden" name="product" value="${esc(p.id)}">
${p.sizes.length ? `<select name="size" aria-label="Size">${p.sizes.map((s) => `<option>${esc(s.toUpperCase())}</option>`).join('')}</select> ` : ''}<button class="btn">Add to cart</button></form>
<form method="get" action="/compare"><input type="hidden" name="ids" value="${esc([p.id, ...similar.slice(0, 2).map((x) => x.id)].join(','))}"><button class="btn ghost" data-edgeseg-compare="${esc(p.id)}">Compare with similar</button></form>
</div></div><h2>More in ${esc(cat.name)}</h2>${cards(similar)}`;
}

export function compare(list) {
  if (!list.length) return `<h1>Compare</h1><p class="muted">Nothing to compare.</p>`;
  const row = (label, f) => `<tr><th>${label}</th>${list.map((p) => `<td>${f(p)}</td>`).join('')}</tr>`;
  return `<h1>Compare</h1><table class="cart">${row('', (p) => `<a href="/product/${esc(p.id)}">${esc(p.name)}</a>`)}${row('Price', priceHtml)}${row('Colour', (p) => esc(p.color))}${row('Sizes', (p) => esc(p.sizes.join(', ').toUpperCase() || 'one size'))}${row('', (p) => esc(p.summary))}</table>`;
}

export function searchPage(q, results) {
  return `<h1>Search</h1><form action="/search" method="get"><input type="text" name="q" value="${esc(q)}" aria-label="Search"> <button class="btn small">Search</button></form>
${q ? `<p class="muted">${results.length} result${results.length === 1 ? '' : 's'} for “${esc(q)}”</p>${cards(results)}` : '<p class="muted">Type something to search for.</p>'}`;
}

export function sale() {
  const list = PRODUCTS.filter((p) => p.was).sort((a, b) => b.was - b.price - (a.was - a.price));
  return `<h1>Sale</h1><p class="muted">Marked down this week, while stock lasts.</p>${cards(list)}`;
}

export function cart(items) {
  if (!items.length) return `<h1>Your cart</h1><p class="muted">Your cart is empty. <a href="/">Keep shopping</a>.</p>`;
  const total = items.reduce((t, { p, qty }) => t + p.price * qty, 0);
  return `<h1>Your cart</h1><table class="cart"><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th></th></tr></thead><tbody>
${items.map(({ p, qty }) => `<tr><td><a href="/product/${esc(p.id)}">${esc(p.name)}</a></td><td>${qty}</td><td>${formatPrice(p.price * qty)}</td>
<td><form method="post" action="/cart/remove"><input type="hidden" name="product" value="${esc(p.id)}"><button class="btn small ghost" data-edgeseg-cart-remove="${esc(p.id)}">Remove</button></form></td></tr>`).join('')}
</tbody><tfoot><tr><th>Total</th><td></td><th>${formatPrice(total)}</th><td></td></tr></tfoot></table>
<p><a class="btn" href="/checkout">Checkout</a></p>`;
}

export function checkout(items) {
  if (!items.length) return `<h1>Checkout</h1><p class="muted">Your cart is empty. <a href="/">Keep shopping</a>.</p>`;
  const total = items.reduce((t, { p, qty }) => t + p.price * qty, 0);
  return `<h1>Checkout</h1><p>${items.length} item${items.length === 1 ? '' : 's'}, total <strong>${formatPrice(total)}</strong>. This is a demo: no payment is taken.</p>
<form method="post" action="/checkout"><label for="n">Name</label><input type="text" id="n" name="name" autocomplete="name">
<label for="e">Email</label><input type="email" id="e" name="email" autocomplete="email"><p><button class="btn">Place order</button></p></form>`;
}

export function orderConfirmed(order, items) {
  const total = items.reduce((t, { p, qty }) => t + p.price * qty, 0);
  return `<h1>Thank you!</h1><p class="notice">Order <strong>${esc(order)}</strong> is confirmed: ${items.length} item${items.length === 1 ? '' : 's'}, ${formatPrice(total)}.</p><p><a href="/">Back to the store</a></p>`;
}

export function account(customer, error) {
  if (customer) {
    return `<h1>Your account</h1><p>Signed in as <strong>${esc(customer)}</strong>. The edge can now join this visit with your visits on other devices.</p>
<form method="post" action="/account/logout"><button class="btn ghost">Sign out</button></form>`;
  }
  return `<h1>Sign in</h1>${error ? `<p class="notice">${esc(error)}</p>` : ''}<form method="post" action="/account/login">
<label for="c">Customer id</label><input type="text" id="c" name="customer" placeholder="e.g. alice-42" required pattern="[A-Za-z0-9._@-]{1,64}">
<p><button class="btn">Sign in</button></p></form><p class="muted">Demo store: any id of letters, digits and <code>._@-</code> works, no password.</p>`;
}

export const INFO = {
  '/about': ['About us', `<h1>About us</h1><p>${esc(STORE_NAME)} is a small shop of well-made things, run by people who use them. This store is also the demo for <strong>edgeseg</strong>: every page shows, at the bottom, exactly what the edge worker concluded about your visit and why.</p>`],
  '/help/shipping': ['Shipping & returns', `<h1>Shipping &amp; returns</h1><p>Orders ship within one working day. Shipping is free over $50, otherwise $4.95.</p><p>Return anything unused within 60 days for a full refund.</p>`],
  '/contact': ['Contact', `<h1>Contact</h1><p>Write to <a href="mailto:hello@example.com">hello@example.com</a>; we answer within a day.</p>`],
};

export const notFound = () => `<h1>Not found</h1><p class="muted">There is nothing at this address. <a href="/">Back to the store</a>.</p>`;
export { PRODUCT_BY_ID };
