//! The edgeseg command-line tool (native only).
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("edgeseg {}", env!("CARGO_PKG_VERSION"));
}
#[cfg(target_arch = "wasm32")]
fn main() {}
