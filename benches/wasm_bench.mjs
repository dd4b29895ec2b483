// Runs benches/wasm-bench (the core compiled for wasm32-wasip1) in V8 through Node's WASI.
// Usage: node benches/wasm_bench.mjs target/wasm32-wasip1/release/edgeseg-wasm-bench.wasm
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const path = process.argv[2];
if (!path) {
  console.error('usage: node benches/wasm_bench.mjs <wasm_bench.wasm>');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [path], env: {} });
const module = await WebAssembly.compile(await readFile(path));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
