//! The platform floor in Rust: `benches/floor/index.js` line for line, written with
//! workers-rs and built like the worker (`make floor-rs`: the `worker` profile,
//! worker-build, `wasm-opt -Oz`). Beside the JavaScript floor it measures what the
//! wasm boundary and workers-rs' generated glue cost by themselves, so the rest of the
//! worker's gap is edgeseg's own work. Not part of the product.

use worker::{
    durable_object, event, Context, DurableObject, Env, Fetch, Request, RequestInit,
    RequestRedirect, Response, Result, State, Url,
};

/// A per-session counter: one storage read and one write per call.
#[durable_object]
pub struct Counter {
    state: State,
}

impl DurableObject for Counter {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let n = storage.get::<u64>("n").await?.unwrap_or(0) + 1;
        storage.put("n", n).await?;
        Response::ok(n.to_string())
    }
}

/// Forwards every request to `ORIGIN`; with `FLOOR_STATE=1` it first makes the session
/// counter's round trip.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    if env.var("FLOOR_STATE")?.to_string() == "1" {
        let session = req
            .headers()
            .get("cookie")?
            .unwrap_or_else(|| "anonymous".into());
        let counters = env.durable_object("COUNTERS")?;
        let stub = counters.id_from_name(&session)?.get_stub()?;
        stub.fetch_with_str("https://counter/").await?;
    }
    let incoming = req.url()?;
    let mut target = Url::parse(&env.var("ORIGIN")?.to_string())?;
    target.set_path(incoming.path());
    target.set_query(incoming.query());
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(req.headers().clone())
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    Fetch::Request(Request::new_with_init(target.as_str(), &init)?)
        .send()
        .await
}
