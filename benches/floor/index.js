// The platform floor for benches/load.rs: the least a Worker can do in the same local
// workerd. Forwards every request to ORIGIN; with FLOOR_STATE=1 it first makes one
// Durable Object round trip (a read and a write of a per-session counter), as the
// edgeseg pipeline does. Not part of the product.
export class Counter {
  constructor(state) {
    this.storage = state.storage;
  }
  async fetch() {
    const n = ((await this.storage.get('n')) ?? 0) + 1;
    await this.storage.put('n', n);
    return new Response(String(n));
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (env.FLOOR_STATE === '1') {
      const session = request.headers.get('cookie') ?? 'anonymous';
      await env.COUNTERS.get(env.COUNTERS.idFromName(session)).fetch('https://counter/');
    }
    const target = new URL(url.pathname + url.search, env.ORIGIN);
    return fetch(new Request(target, request), { redirect: 'manual' });
  },
};
