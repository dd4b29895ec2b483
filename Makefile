# The two commands a newcomer needs: `make dev` (the worker in workerd in front of the
# demo store) and `make test` (everything CI checks). See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ORIGIN ?=
DEV_PORT ?= 8787
ORIGIN_PORT ?= 8788
TOOLS_ENV := .tools.env
WORKER := build/index.js
RUST_SOURCES := $(shell find src -type f) Cargo.toml Cargo.lock
BUNDLE_FILES := $(wildcard model/*.json model/*.onnx assets/*)
BUILD_ID = $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: dev test bootstrap wasm floor-rs fmt-check clippy unit demo-test pipeline-test e2e deploy-check bench model clean

## Tools: installed once per machine into ~/.cache/edgeseg-tools (scripts/bootstrap.sh).
$(TOOLS_ENV): scripts/bootstrap.sh Cargo.lock tools/package-lock.json
	bash scripts/bootstrap.sh

bootstrap: $(TOOLS_ENV)

## Dependencies built from a patched copy (Cargo.toml's [patch.crates-io]): laid out
## under target/patched/ before any cargo command can resolve the workspace.
PATCHED_DEPS := target/patched/tract-nnef-0.23.9/.edgeseg-patched
$(PATCHED_DEPS): scripts/patch-deps.sh $(wildcard patches/*.diff)
	bash scripts/patch-deps.sh
	touch $@

## The worker: Rust -> wasm -> build/index.js, rebuilt only when a source changed.
## worker-build keeps the wasm's name section (1.5 MB); it is dropped here, after a copy
## for scripts/size-steps.sh.
WASM_FEATURES := --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
	--enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
$(WORKER): $(TOOLS_ENV) $(PATCHED_DEPS) $(RUST_SOURCES) $(BUNDLE_FILES)
	source $(TOOLS_ENV) && PATH="$$WASM_BUILD_PATH" EDGESEG_BUILD_ID="$(BUILD_ID)" "$$WORKER_BUILD" --profile worker
	mkdir -p target && cp build/index_bg.wasm target/index_bg.named.wasm
	source $(TOOLS_ENV) && "$$WASM_OPT_BIN" target/index_bg.named.wasm --strip-debug $(WASM_FEATURES) -o build/index_bg.wasm
	touch $(WORKER)

wasm: $(WORKER)

## The Rust platform floor of the load and cold-start benches (benches/floor-rs/), built
## as the worker is: profile `worker`, `wasm-opt -Oz`, name section dropped.
FLOOR_RS := benches/floor-rs/build/index.js
$(FLOOR_RS): $(TOOLS_ENV) $(PATCHED_DEPS) benches/floor-rs/src/lib.rs benches/floor-rs/Cargo.toml Cargo.lock
	source $(TOOLS_ENV) && cd benches/floor-rs && PATH="$$WASM_BUILD_PATH" "$$WORKER_BUILD" --profile worker
	source $(TOOLS_ENV) && "$$WASM_OPT_BIN" benches/floor-rs/build/index_bg.wasm --strip-debug $(WASM_FEATURES) -o benches/floor-rs/build/index_bg.wasm
	touch $(FLOOR_RS)

floor-rs: $(FLOOR_RS)

## make dev: the worker on 127.0.0.1:$(DEV_PORT), in front of the demo store (or ORIGIN=...).
dev: $(WORKER)
	ORIGIN="$(ORIGIN)" DEV_PORT="$(DEV_PORT)" ORIGIN_PORT="$(ORIGIN_PORT)" bash scripts/dev.sh

## make test: formatting, lints, native tests (Rust, the demo store, the ML pipeline),
## the wasm build, end-to-end tests in workerd, and what `wrangler deploy` would upload.
test: fmt-check clippy unit demo-test pipeline-test wasm e2e deploy-check

fmt-check: $(PATCHED_DEPS)
	cargo fmt --all -- --check

clippy: $(TOOLS_ENV) $(PATCHED_DEPS)
	cargo clippy --all-targets --all-features --locked -- -D warnings
	source $(TOOLS_ENV) && bash scripts/clippy-wasm.sh

unit: $(PATCHED_DEPS)
	cargo test --locked

demo-test:
	node --test demo/

pipeline-test:
	bash model/train/build.sh --venv-only
	cd model/train && .venv/bin/python -m pytest -q tests

e2e: $(WORKER)
	source $(TOOLS_ENV) && cargo test --locked --features e2e --test e2e -- --test-threads=1

## The deployable bundle and wrangler.toml (bindings, Durable Object migrations) checked
## as `wrangler deploy` would upload them, offline: no account, no network.
deploy-check: $(WORKER)
	source $(TOOLS_ENV) && "$$WRANGLER" deploy --dry-run --outdir target/deploy-dry-run

## make bench: the wasm's size step by step, the core natively (criterion), the core in
## wasm (V8 via Node's WASI), latency direct vs through the worker in workerd beside a
## floor worker (benches/load.rs; in JavaScript and in Rust), model swaps (swap.rs), cold
## start (cold.rs). Figures: README.
bench: $(WORKER) $(FLOOR_RS)
	bash scripts/size-steps.sh | tee target/bench-size.md
	cargo bench --locked --bench classify -- --noplot
	bash scripts/bench-wasm.sh
	source $(TOOLS_ENV) && BENCH_OUT=target/bench-load.json cargo bench --locked --features e2e --bench load
	source $(TOOLS_ENV) && BENCH_OUT=target/bench-swap.json cargo bench --locked --features e2e --bench swap
	source $(TOOLS_ENV) && BENCH_OUT=target/bench-cold.json cargo bench --locked --features e2e --bench cold
	source $(TOOLS_ENV) && BENCH_OUT=target/bench-soak.json cargo bench --locked --features e2e --bench soak

## make model: the shipped bundle from the shipped data; DATA=dir also trains on training
## records pulled with `edgeseg logs pull --out dir` (without DATA: the same bundle as ever),
## OUT=dir writes the bundle there instead of model/.
DATA ?=
OUT ?=
model:
	EDGESEG_RECORDS="$(abspath $(DATA))" EDGESEG_MODEL_OUT="$(abspath $(OUT))" bash model/train/build.sh

clean:
	rm -rf build target .wrangler $(TOOLS_ENV)
