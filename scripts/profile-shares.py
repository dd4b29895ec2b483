#!/usr/bin/env python3
"""Where a worker's steady requests spend their CPU: a V8 CPU profile, in shares.

Reads a profile kept by the cold-start bench and sorts each busy sample (JavaScript,
wasm, GC; not idle, not the runtime outside V8) into the first group its call stack
matches, naming wasm functions from the worker's name section. Locally the worker and
its session objects share one isolate, so the profile holds both sides.

Usage (`make wasm` first: target/index_bg.named.wasm is the build's named copy):
    CPU_PROFILE_DIR=/tmp/profiles COLD_TRIALS=1 COLD_PROFILED=1 COLD_PERF=0 \\
        COLD_PROFILE_REQUESTS=600 cargo bench --features e2e --bench cold
    python3 scripts/profile-shares.py /tmp/profiles/edgeseg-2.cpuprofile

Prints a Markdown table. The groups match function names of edgeseg's code: a renamed
function lands in "the rest" until its group here follows it.
"""

import argparse
import collections
import json
import os
import re
import sys

from wasm_functions import wasm_functions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE = {"(idle)", "(program)", "(root)"}


def any_frame(*needles):
    return lambda stack: any(n in frame for frame in stack for n in needles)


# (group, test on the call stack, innermost frame first); the first match wins.
GROUPS = [
    ("the session object: the tract model run", any_frame("Plan::run")),
    (
        "the session object: features, explanation and rules around the model run",
        any_frame("edgeseg::core::classify::classify", "edgeseg::core::features::compute"),
    ),
    (
        "the session object: the one storage `put` (SQLite in the runtime)",
        lambda stack: stack[0] == "put" and any_frame("SessionLogs::keep")(stack),
    ),
    (
        "the session object: serialising the decision record and trail entry it keeps",
        any_frame("SessionLogs::keep"),
    ),
    (
        "the session object: the rest (JSON of the request and the answer, the state)",
        any_frame("SessionStore::apply", "edgeseg::edge::session_do"),
    ),
    (
        "the worker's call to the object (Request, the stub's fetch, reading the answer)",
        any_frame("edgeseg::edge::sessions::call"),
    ),
    (
        "reading bindings and parsing URLs",
        any_frame("get_binding", "url::parser", "url::ParseOptions"),
    ),
    (
        "the futures executor (wakes, microtasks)",
        any_frame(
            "queue::Queue::schedule_task",
            "JsFuture<T,E> as core::convert::From<js_sys::Promise<T,E>>>::from::finish",
        ),
    ),
    ("the garbage collector", lambda stack: stack[0] == "(garbage collector)"),
]
REST = "the rest: forwarding to the origin, headers, cookies, the runtime's own JavaScript"


def function_names(path):
    """Function index -> name, from the wasm's `name` custom section."""
    try:
        names = wasm_functions(path)[2]
    except OSError as e:
        sys.exit(f"profile-shares: cannot read {path}: {e}")
    if not names:
        sys.exit(f"profile-shares: {path} has no function names: is it the named copy?")
    return names


def shares(profile, names):
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}

    def frame(node):
        function = node["callFrame"]["functionName"]
        wasm = re.match(r"wasm-function\[(\d+)\]", function)
        return names.get(int(wasm.group(1)), function) if wasm else function

    counts = collections.Counter(profile["samples"])
    groups = collections.Counter()
    for leaf, samples in counts.items():
        stack, at = [], leaf
        while at is not None:
            stack.append(frame(nodes[at]))
            at = parent.get(at)
        if stack[0] in OUTSIDE:
            continue
        group = next((name for name, test in GROUPS if test(stack)), REST)
        groups[group] += samples
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="a .cpuprofile kept by the cold-start bench")
    parser.add_argument(
        "--wasm",
        default=os.path.join(ROOT, "target/index_bg.named.wasm"),
        help="the build's wasm with its name section (default: %(default)s)",
    )
    args = parser.parse_args()
    try:
        profile = json.load(open(args.profile))
    except (OSError, ValueError) as e:
        sys.exit(f"profile-shares: cannot read {args.profile}: {e}")
    groups = shares(profile, function_names(args.wasm))
    busy = sum(groups.values())
    if busy == 0:
        sys.exit(f"profile-shares: {args.profile} has no busy samples")
    print(f"{busy} busy samples\n\n| where | share |\n|---|---|")
    for name, samples in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"| {name} | {100 * samples / busy:.1f} % |")


if __name__ == "__main__":
    main()
