//! The per-session Durable Object: strongly consistent state for one session or customer.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

#[durable_object]
pub struct SessionStore {
    #[allow(dead_code)]
    state: State,
}

impl DurableObject for SessionStore {
    fn new(state: State, _env: Env) -> Self {
        SessionStore { state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/ping" => Response::ok("pong"),
            other => Response::error(format!("unknown session operation {other}"), 404),
        }
    }
}
