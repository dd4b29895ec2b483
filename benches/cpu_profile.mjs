// CPU time a worker's isolate spends on requests, from V8 CPU profiles taken through
// `wrangler dev`'s DevTools inspector. Timers do not advance during CPU work inside
// Workers, so a request cannot time itself; the profiler samples it from outside.
//
// Driven by benches/cold.rs over stdin/stdout, one line each way:
//   node --experimental-websocket benches/cpu_profile.mjs INSPECTOR_PORT
//   prints `ready`; then `start` -> `started`, `stop` -> one JSON line:
//   { cpu_ms, program_ms, idle_ms, samples, top: [[function, self ms], ...] }
// cpu_ms counts samples in JavaScript, wasm and the garbage collector; time V8 books as
// "(program)" (the runtime outside V8, and waiting for I/O) is reported apart, because
// local workerd does not mark its waits as idle. Locally the worker and its Durable
// Objects share one isolate, so a request's profile includes the object's side.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const port = process.argv[2];
if (!port) {
  console.error('usage: node --experimental-websocket benches/cpu_profile.mjs INSPECTOR_PORT');
  process.exit(2);
}
// With CPU_PROFILE_DIR set, each raw profile is also kept there (`PORT-N.cpuprofile`, N in the
// order taken) for Chrome DevTools' Performance panel, where time inclusive of callees
// shows.
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

function summarise(profile) {
  const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  // An anonymous function is named by where it is: script and line.
  const where = new Map(
    profile.nodes.map((n) => {
      const { functionName, url, lineNumber } = n.callFrame;
      const script = url.split('/').pop() || '(native)';
      return [n.id, functionName || `(anonymous ${script}:${lineNumber + 1})`];
    }),
  );
  const totals = { cpu_ms: 0, program_ms: 0, idle_ms: 0, samples: profile.samples.length };
  const self = new Map();
  // timeDeltas[i + 1] is how long the isolate stayed where sample i found it.
  profile.samples.forEach((node, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const name = names.get(node);
    if (name === '(program)') totals.program_ms += ms;
    else if (OUTSIDE.has(name)) totals.idle_ms += ms;
    else {
      totals.cpu_ms += ms;
      const label = where.get(node);
      self.set(label, (self.get(label) ?? 0) + ms);
    }
  });
  totals.top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([name, ms]) => [name, Math.round(ms * 1000) / 1000]);
  return totals;
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
    if (keepIn) writeFileSync(`${keepIn}/${port}-${taken}.cpuprofile`, JSON.stringify(profile));
    console.log(JSON.stringify(summarise(profile)));
  }
}
socket.close();
