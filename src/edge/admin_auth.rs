//! Who may use the operator surface (admin endpoints, the dashboard, health's details):
//! the bearer token `EDGESEG_ADMIN_TOKEN`, or the dashboard's sign-in cookie, which
//! carries a digest of the token, never the token.

use sha2::{Digest, Sha256};
use worker::{Env, Request};

use super::bindings::ADMIN_TOKEN_SECRET;
use super::error::{Code, Result};

const COOKIE: &str = "edgeseg_admin";
/// The cookie's lifetime: a working day.
const COOKIE_MAX_AGE_SECS: u32 = 12 * 60 * 60;

/// Compares digests, so the time taken says nothing about the secret.
pub fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// The configured admin token; without one the admin endpoints and the dashboard do
/// not exist (`not_found`).
pub fn configured_token(env: &Env) -> Result<String> {
    match env.secret(ADMIN_TOKEN_SECRET).map(|s| s.to_string()) {
        Ok(token) if !token.is_empty() => Ok(token),
        _ => Err(Code::NotFound.because("admin endpoints are disabled")),
    }
}

/// Passes the bearer token or the dashboard's sign-in cookie; `not_found` when the
/// token is not configured, `unauthorized` when neither matches.
pub fn authorize(req: &Request, env: &Env) -> Result<()> {
    let expected = configured_token(env)?;
    let given = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string));
    let by_bearer = given.is_some_and(|token| same_secret(&token, &expected));
    if by_bearer || has_cookie_for(req, &expected) {
        return Ok(());
    }
    Err(Code::Unauthorized.because("a valid bearer token (or the dashboard's sign-in) is required"))
}

/// The cookie value for `token`: a digest, so the cookie never carries the token.
fn cookie_value(token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("edgeseg-dashboard\n{token}").as_bytes(),
    ))
}

/// Whether the request carries the dashboard cookie of `token`.
pub fn has_cookie_for(req: &Request, token: &str) -> bool {
    let expected = cookie_value(token);
    let Ok(Some(header)) = req.headers().get("cookie") else {
        return false;
    };
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && same_secret(value, &expected))
}

/// The `Set-Cookie` value of a successful sign-in.
pub fn sign_in_cookie(token: &str) -> String {
    format!(
        "{COOKIE}={}; HttpOnly; Secure; SameSite=Strict; Path=/__edgeseg/; Max-Age={COOKIE_MAX_AGE_SECS}",
        cookie_value(token)
    )
}
