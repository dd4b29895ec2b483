#!/usr/bin/env python3
"""Which wasm functions V8 compiles while a fresh isolate serves its first request.

V8 compiles a wasm function on its first call (Liftoff, "lazy compilation"), on the
thread that calls it: a fresh isolate's first requests pay for compiling every function
they reach. This counts those compilations exactly, with Linux uprobes on the runtime's
own `v8::internal::wasm::CompileLazy` (its function index argument) and
`WasmEngine::FlushLiftoffCode` (V8 dropping compiled code), during the worker's
startup, a new shopper's first page and a second shopper's first page; then names the
functions from the wasm's name section and sums their sizes.

Usage (root, Linux `perf` with uprobes; `make wasm` first):
    sudo python3 scripts/first-request-compiles.py [--worker-dir DIR] [--top N]

Prints one JSON object: per phase, the compilations, how many of them compiled a
function compiled before (its code had been dropped), their wasm bytes, the largest
crates and functions; and the flushes between phases.
"""

import argparse
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from wasm_functions import wasm_functions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBES = {
    # (symbol, perf probe arguments): CompileLazy(Isolate*, NativeModule*, int index).
    "edgeseg_lazy": ("_ZN2v88internal4wasm11CompileLazyEPNS0_7IsolateEPNS1_12NativeModuleEi", "idx=%dx:s32"),
    "edgeseg_flush": ("_ZN2v88internal4wasm10WasmEngine16FlushLiftoffCodeEv", ""),
}


def fail(why):
    sys.exit(f"first-request-compiles: {why}")


def tools_env():
    """The variables scripts/bootstrap.sh wrote (WRANGLER among them)."""
    env = dict(os.environ)
    path = os.path.join(ROOT, ".tools.env")
    if not os.path.exists(path):
        fail("no .tools.env: run `make wasm` (or scripts/bootstrap.sh) first")
    for line in open(path):
        m = re.match(r"export (\w+)='(.*)'$", line.strip())
        if m:
            env[m.group(1)] = m.group(2)
    return env


def workerd_binary(env):
    wrangler = os.path.realpath(env["WRANGLER"])
    modules = wrangler[: wrangler.index("node_modules") + len("node_modules")]
    binary = os.path.join(modules, "@cloudflare", "workerd-linux-64", "bin", "workerd")
    if not os.path.exists(binary):
        fail(f"no workerd binary at {binary}")
    return binary


def file_offset(binary, symbol):
    """The symbol's offset in the file (perf probe takes file offsets of an executable)."""
    nm = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout
    found = re.search(rf"^([0-9a-f]+) T {re.escape(symbol)}$", nm, re.M)
    if not found:
        fail(f"{symbol} is not in {binary}: another workerd version?")
    vaddr = int(found.group(1), 16)
    segments = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    for line in segments.splitlines():
        fields = line.split()
        if fields[:1] == ["LOAD"]:
            offset, start, size = int(fields[1], 16), int(fields[2], 16), int(fields[5], 16)
            if start <= vaddr < start + size:
                return vaddr - start + offset
    fail(f"{symbol} is in no loadable segment")


def add_probes(binary):
    for name, (symbol, args) in PROBES.items():
        subprocess.run(["perf", "probe", "-q", "-d", f"probe_workerd:{name}"], capture_output=True)
        spec = f"{name}=0x{file_offset(binary, symbol):x} {args}".strip()
        added = subprocess.run(["perf", "probe", "-q", "-x", binary, "--add", spec], capture_output=True, text=True)
        if added.returncode != 0:
            fail(f"perf probe failed (root and uprobes needed): {added.stderr.strip()}")


def remove_probes():
    for name in PROBES:
        subprocess.run(["perf", "probe", "-q", "-d", f"probe_workerd:{name}"], capture_output=True)


def crate_of(name):
    name = re.sub(r"^[<_&\s]*(mut |dyn )?", "", name)
    return re.split(r"::|\[|<| ", name)[0] or "?"


def listening_url(process, marker):
    for line in process.stdout:
        if marker in line:
            return line
    fail(f"the process exited before saying {marker!r}")


def get(url):
    request = urllib.request.Request(url, headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def record(env, worker_dir, data_path):
    """Runs the worker under `perf record` of the probes: startup, two new shoppers."""
    origin = subprocess.Popen(
        ["node", "demo/origin.mjs", "--port", "0", "--host", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    origin_url = listening_url(origin, "listening on ").split("listening on ")[1].strip()
    perf = subprocess.Popen(
        # The monotonic clock, so that events compare with this script's marks.
        ["perf", "record", "-q", "-a", "-k", "CLOCK_MONOTONIC", "-o", data_path]
        + [arg for name in PROBES for arg in ("-e", f"probe_workerd:{name}")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    state = tempfile.mkdtemp(prefix="edgeseg-compiles-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wrangler = subprocess.Popen(
        [env["WRANGLER"], "dev", "--local", "--ip", "127.0.0.1", "--port", str(port),
         "--persist-to", state, "--show-interactive-dev-session=false",
         "--var", f"ORIGIN:{origin_url}"],
        cwd=worker_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    marks = {}
    try:
        ready = listening_url(wrangler, "Ready on")
        url = re.search(r"http://[\d.:]+", ready).group(0)
        marks["ready"] = time.clock_gettime(time.CLOCK_MONOTONIC)
        time.sleep(1)
        marks["first"] = time.clock_gettime(time.CLOCK_MONOTONIC)
        get(f"{url}/product/101")
        time.sleep(2)
        marks["second"] = time.clock_gettime(time.CLOCK_MONOTONIC)
        get(f"{url}/product/102")
        time.sleep(2)
    finally:
        for process in (wrangler, origin):
            os.killpg(process.pid, signal.SIGTERM)
        perf.send_signal(signal.SIGINT)
        perf.wait()
    return marks


def report(data_path, marks, wasm, top):
    imports, sizes, names = wasm
    script = subprocess.run(
        ["perf", "script", "-i", data_path, "-F", "pid,time,event,trace"],
        capture_output=True, text=True,
    ).stdout
    events = []
    for line in script.splitlines():
        m = re.match(r"\s*(\d+)\s+([\d.]+):\s+probe_workerd:(\w+):.*?(?:idx=(-?\d+))?\s*$", line)
        if m:
            events.append((int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)))
    compiles = collections.Counter(pid for pid, _, kind, _ in events if kind == "edgeseg_lazy")
    if not compiles:
        fail("no compilation was recorded")
    # The runtime that ran the worker compiled the most (other runtimes run JavaScript).
    pid = compiles.most_common(1)[0][0]
    bounds = [("startup", 0.0), ("first request", marks["first"]), ("second request", marks["second"])]

    def phase_of(t):
        return [name for name, start in bounds if t >= start][-1]

    phases = {name: {"compiles": [], "flushes": 0} for name, _ in bounds}
    for event_pid, t, kind, index in events:
        if event_pid != pid:
            continue
        phase = phases[phase_of(t)]
        if kind == "edgeseg_lazy":
            phase["compiles"].append(int(index))
        elif phase["compiles"]:
            # Only a flush after the phase compiled something can drop its code.
            phase["flushes"] += 1
    seen = set()
    result = {}
    for name, _ in bounds:
        indexes = phases[name]["compiles"]
        size = lambda index: sizes[index - imports] if 0 <= index - imports < len(sizes) else 0
        crates = collections.Counter()
        for index in indexes:
            crates[crate_of(names.get(index, "?"))] += size(index)
        largest = sorted(((size(i), names.get(i, f"function {i}")) for i in set(indexes)), reverse=True)
        result[name] = {
            "compiled": len(indexes),
            "compiled_again": sum(1 for index in indexes if index in seen),
            "wasm_bytes": sum(size(index) for index in indexes),
            "wasm_bytes_compiled_again": sum(size(index) for index in indexes if index in seen),
            "flushes_after_its_compiles": phases[name]["flushes"],
            "crates_by_bytes": dict(crates.most_common(top)),
            "largest_functions": [f"{size} {name}" for size, name in largest[:top]],
        }
        seen.update(indexes)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker-dir", default=ROOT, help="where wrangler.toml and build/ are")
    parser.add_argument("--names", default=os.path.join(ROOT, "target", "index_bg.named.wasm"),
                        help="the same wasm with its name section (the Makefile keeps it)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    if os.geteuid() != 0:
        fail("uprobes need root")
    env = tools_env()
    binary = workerd_binary(env)
    named_imports, named_sizes, names = wasm_functions(args.names)
    imports, sizes, _ = wasm_functions(os.path.join(args.worker_dir, "build", "index_bg.wasm"))
    # Stripping the names re-encodes the bodies a little, so compare the layout only.
    if (named_imports, len(named_sizes)) != (imports, len(sizes)):
        fail(f"{args.names} is not the build in {args.worker_dir}: run `make wasm`")
    add_probes(binary)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_path = os.path.join(tmp, "perf.data")
            marks = record(env, args.worker_dir, data_path)
            print(json.dumps(report(data_path, marks, (imports, sizes, names), args.top), indent=1))
    finally:
        remove_probes()


if __name__ == "__main__":
    main()
