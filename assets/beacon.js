/* edgeseg beacon: served by the worker at /__edgeseg/beacon.js (docs/contracts.md §5).
 * Collects dwell (visible ms on this page view, cumulative: a later dwell for the page
 * supersedes an earlier one), scroll (max depth 0..100), compare and cart_remove clicks,
 * and hover (first hover > 500 ms on a product card, once per product), and sends them
 * when the page is hidden or unloaded. Sends nothing under Global Privacy Control or a
 * declined consent cookie. Never throws, never blocks. */
(function (w, d, n) {
  'use strict';
  try {
    if (w.__edgesegBeacon || n.globalPrivacyControl === true || /(^|;\s*)consent=no(;|$)/.test(d.cookie)) return;
    w.__edgesegBeacon = 1;
  } catch (e) { return; }

  var URL = '/__edgeseg/events', MAX = 50, MAX_BYTES = 8000, HOVER_MS = 500;
  var PRODUCT = /^[A-Za-z0-9._-]{1,64}$/;
  var page = String(location.pathname || '/').slice(0, 512);
  if (page.charAt(0) !== '/') page = '/';
  var queue = [], hovered = {}, dwell = 0, since = null, sentDwell = 0, depth = 0, sentDepth = 0;
  var hoverEl = null, hoverTimer = null;
  var now = function () { return w.performance && performance.now ? performance.now() : +new Date(); };

  function push(ev) { if (queue.length < 500) queue.push(ev); }

  // Nearest ancestor (or self) carrying attribute `name`; returns [element, value].
  function find(el, name) {
    for (; el && el.getAttribute; el = el.parentNode) {
      var v = el.getAttribute(name);
      if (v != null) return [el, v];
    }
    return null;
  }

  function product(type, el, name) {
    var hit = find(el, name);
    if (hit && PRODUCT.test(hit[1])) push({ type: type, product: hit[1] });
    return hit;
  }

  function measure() {
    try {
      var de = d.documentElement, b = d.body || de;
      var h = Math.max(de.scrollHeight, b.scrollHeight, 1);
      var y = (w.pageYOffset || de.scrollTop || 0) + (w.innerHeight || de.clientHeight || 0);
      var p = Math.min(100, Math.max(0, Math.round(y / h * 100)));
      if (p > depth) depth = p;
    } catch (e) {}
  }

  function visible() { return d.visibilityState ? d.visibilityState === 'visible' : true; }

  function post(events) {
    var body = JSON.stringify({ v: 1, events: events });
    if (body.length > MAX_BYTES && events.length > 1) {
      var half = Math.ceil(events.length / 2);
      post(events.slice(0, half));
      post(events.slice(half));
      return;
    }
    try { if (n.sendBeacon && n.sendBeacon(URL, body)) return; } catch (e) {}
    try {
      w.fetch && w.fetch(URL, { method: 'POST', body: body, keepalive: true, credentials: 'same-origin',
        headers: { 'content-type': 'application/json' } })['catch'](function () {});
    } catch (e) {}
  }

  function flush() {
    try {
      // Called when the page is hidden or going away: the visible clock stops here and
      // restarts on visibilitychange visible or a bfcache pageshow.
      if (since !== null) { dwell += now() - since; since = null; }
      var ms = Math.min(1800000, Math.round(dwell));
      if (ms > sentDwell) { push({ type: 'dwell', page: page, ms: ms }); sentDwell = ms; }
      measure();
      if (depth > sentDepth) { push({ type: 'scroll', page: page, depth: depth }); sentDepth = depth; }
      while (queue.length) post(queue.splice(0, MAX));
    } catch (e) {}
  }

  // Capture on document so that a page's stopPropagation cannot hide clicks from us.
  function on(target, type, fn) {
    try {
      target.addEventListener(type, function (ev) { try { fn(ev); } catch (e) {} }, { capture: target === d, passive: true });
    } catch (e) {}
  }

  if (visible()) since = now();
  on(d, 'visibilitychange', function () {
    if (visible()) { if (since === null) since = now(); } else flush();
  });
  on(w, 'pagehide', flush);
  on(w, 'pageshow', function (ev) { if (ev.persisted && visible() && since === null) since = now(); });
  on(w, 'scroll', measure);
  on(w, 'load', measure);

  on(d, 'click', function (ev) {
    product('compare', ev.target, 'data-edgeseg-compare') || product('cart_remove', ev.target, 'data-edgeseg-cart-remove');
  });

  on(d, 'mouseover', function (ev) {
    var hit = find(ev.target, 'data-edgeseg-product');
    if (!hit || hit[0] === hoverEl) return;
    clearTimeout(hoverTimer);
    hoverEl = hit[0];
    var id = hit[1];
    if (hovered[id] || !PRODUCT.test(id)) return;
    hoverTimer = setTimeout(function () {
      if (!hovered[id]) { hovered[id] = 1; push({ type: 'hover', product: id }); }
    }, HOVER_MS);
  });
  on(d, 'mouseout', function (ev) {
    if (hoverEl && !(ev.relatedTarget && hoverEl.contains(ev.relatedTarget))) { clearTimeout(hoverTimer); hoverEl = null; }
  });
})(window, document, navigator);
