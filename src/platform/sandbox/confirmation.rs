//! Accounts with a login in the sandbox: every request must carry it (HTTP authentication), and
//! acts created waiting (`en_attente=1`, status 17) are posted only once confirmed with a nonce
//! login, as S²LOW's `get-nounce.php` and `actes_transac_post_confirm_api.php` do.

use super::{Ctx, json, now_ms};
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use rand::Rng;
use std::collections::HashMap;

/// Whether the request carries the account's login (always true when none is set).
pub(crate) fn login_ok(ctx: &Ctx, authorization: Option<&str>) -> bool {
    let expected = &ctx.settings.identifiant;
    if expected.is_empty() {
        return true;
    }
    let Some(encoded) = authorization.and_then(|a| a.strip_prefix("Basic ")) else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let wanted = format!("{expected}:{}", ctx.settings.mot_de_passe);
    decoded.len() == wanted.len() && openssl::memcmp::eq(&decoded, wanted.as_bytes())
}

/// `GET /api/get-nounce.php`: a fresh single-use nonce.
pub(crate) fn nonce(ctx: &Ctx) -> Response<Full<Bytes>> {
    let value = hex::encode(rand::rng().random::<[u8; 16]>());
    if let Ok(mut nonces) = ctx.nonces.lock() {
        nonces.insert(value.clone());
    }
    json(&serde_json::json!({ "nounce": value }))
}

/// `GET actes_transac_post_confirm_api.php`: posts a waiting act when the nonce answer is right,
/// then redirects to `url_return` with `%%ERROR%%` and `%%MESSAGE%%` filled in.
pub(crate) fn confirm(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or("");
    let nonce_known = ctx
        .nonces
        .lock()
        .map(|mut n| n.remove(get("nounce")))
        .unwrap_or(false);
    // Computed here from S²LOW's rule, not with the client's function: the sandbox checks the
    // client, it does not agree with it by construction.
    let expected = hex::encode(openssl::sha::sha256(
        format!("{}:{}", ctx.settings.mot_de_passe, get("nounce")).as_bytes(),
    ));
    let authenticated = nonce_known
        && !ctx.settings.identifiant.is_empty()
        && get("login") == ctx.settings.identifiant
        // memcmp::eq needs equal lengths (it panics otherwise): checked first.
        && get("hash").len() == expected.len()
        && openssl::memcmp::eq(expected.as_bytes(), get("hash").as_bytes());
    let (error, message) = if !authenticated {
        (1, "Échec de l'authentification")
    } else {
        let id = get("id").parse::<i64>().ok();
        let confirmed = id.is_some_and(|id| {
            ctx.store
                .lock()
                .ok()
                .and_then(|mut s| s.confirm_acte(account, id, now_ms()).ok())
                .unwrap_or(false)
        });
        if confirmed {
            (0, "")
        } else {
            (
                1,
                "La transaction n'est pas dans le statut « En attente d'être posté»",
            )
        }
    };
    // S²LOW pastes the message as it is, not encoded, into the return address, and sends it as
    // the Location header (actes_transac_post_confirm_api.php, return_error_api: str_replace
    // of %%MESSAGE%%, then header("Location:  …")): UTF-8 bytes, spaces and quotes included.
    let location = get("url_return")
        .replace("%%ERROR%%", &error.to_string())
        .replace("%%MESSAGE%%", message);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = hyper::header::HeaderValue::from_bytes(location.as_bytes()) {
        response.headers_mut().insert("location", value);
    }
    response
}
