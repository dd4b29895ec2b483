pub mod core;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod edge;
