// Where a worker's isolate spends its CPU on requests, from V8 CPU profiles taken
// through `wrangler dev`'s DevTools inspector. How much CPU is measured apart, from the
// kernel's accounting of the runtime's threads (`Worker::runtime_cpu` in the e2e harness):
// a profile's time deltas also hold stretches in which the sampler was not scheduled.
//
// Driven by benches/cold.rs over stdin/stdout, one line each way:
//   node --experimental-websocket benches/cpu_profile.mjs INSPECTOR_PORT [NAME]
//   prints `ready`; then `start` -> `started`, `stop` -> one JSON line:
//   { samples, top: [[function, percent of samples], ...] }
// Samples in "(program)" (the runtime outside V8, and waiting for I/O) and "(idle)" are
// left out. Locally the worker and its Durable Objects share one isolate, so a request's
// profile includes the object's side.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [port, name] = process.argv.slice(2);
if (!port) {
  console.error('usage: node --experimental-websocket benches/cpu_profile.mjs INSPECTOR_PORT [NAME]');
  process.exit(2);
}
// With CPU_PROFILE_DIR set, each raw profile is also kept there (`NAME-N.cpuprofile`,
// NAME the port without one, N in the order taken) for Chrome DevTools' Performance
// panel, where time inclusive of callees shows, and for scripts/profile-shares.py.
const keepIn = process.env.CPU_PROFILE_DIR;
let taken = 0;
// Sampling interval in microseconds: fine enough for requests of a few milliseconds.
const INTERVAL_US = 50;
const OUTSIDE = new Set(['(program)', '(idle)', '(root)']);

async function target() {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
      const found = list.find((t) => t.webSocketDebuggerUrl);
      if (found) return found.webSocketDebuggerUrl;
    } catch {
      // The inspector is not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no inspector target on port ${port}`);
}

// wrangler's inspector accepts only connections that name an origin.
const socket = new WebSocket(await target(), { headers: { origin: 'http://127.0.0.1' } });
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = () => reject(new Error('inspector connection failed'));
});
let nextId = 1;
const pending = new Map();
socket.onmessage = (message) => {
  const reply = JSON.parse(message.data);
  const waiting = pending.get(reply.id);
  if (!waiting) return;
  pending.delete(reply.id);
  if (reply.error) waiting.reject(new Error(JSON.stringify(reply.error)));
  else waiting.resolve(reply.result);
};
function call(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

// How many functions `top` lists: where the CPU time went, by self time. Function names
// of the wasm show only in a build that keeps its name section (target/index_bg.named.wasm).
const TOP = 15;

// Where the CPU went: each function's share of the samples taken in JavaScript, wasm
// and the garbage collector, by self time. Samples are counted, not their time deltas:
// a delta also holds any stretch in which the sampler itself was not scheduled.
function summarise(profile) {
  const where = new Map(
    profile.nodes.map((n) => {
      const { functionName, url, lineNumber } = n.callFrame;
      // An anonymous function is named by where it is: script and line.
      const script = url.split('/').pop() || '(native)';
      return [n.id, { name: functionName || `(anonymous ${script}:${lineNumber + 1})`, functionName }];
    }),
  );
  const self = new Map();
  let samples = 0;
  for (const node of profile.samples) {
    const { name, functionName } = where.get(node);
    if (OUTSIDE.has(functionName)) continue;
    samples += 1;
    self.set(name, (self.get(name) ?? 0) + 1);
  }
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([name, n]) => [name, Math.round((1000 * n) / samples) / 10]);
  return { samples, top };
}

await call('Profiler.enable');
await call('Profiler.setSamplingInterval', { interval: INTERVAL_US });
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'start') {
    await call('Profiler.start');
    console.log('started');
  } else if (line === 'stop') {
    const { profile } = await call('Profiler.stop');
    taken += 1;
    if (keepIn) writeFileSync(`${keepIn}/${name ?? port}-${taken}.cpuprofile`, JSON.stringify(profile));
    console.log(JSON.stringify(summarise(profile)));
  }
}
socket.close();
