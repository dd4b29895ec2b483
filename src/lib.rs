pub mod core;
// The shell is wasm32 only; native test builds compile its error-code table alone.
#[cfg(any(all(target_arch = "wasm32", target_os = "unknown"), test))]
mod edge;
