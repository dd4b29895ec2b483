//! The Cloudflare shell (wasm32 only).
