//! The sandbox's STELA editor API (`/editeur/api/acte…`): the same acts as its S²LOW face, with
//! STELA's fields, its validation (400 with the errors), its 409 for a number already used, and
//! each act's history of events.

use super::store::{Inserted, StoredActe};
use super::{
    Ctx, Form, acknowledge_if_due, draw, html_error, json, now_ms, number_is_valid, sniff,
};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// Acts are known to STELA by a UUID; the sandbox derives it from its row id.
fn uuid_of(id: i64) -> String {
    format!("00000000-0000-4000-8000-{id:012}")
}

fn id_of(uuid: &str) -> Option<i64> {
    uuid.strip_prefix("00000000-0000-4000-8000-")?.parse().ok()
}

fn status(code: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = json(&body);
    *response.status_mut() = code;
    response
}

/// STELA's enum `ActeNature` (`acte-service/…/model/ActeNature.java`): its constant names and
/// their ACTES codes 01 to 06.
const NATURES: [(&str, u8); 6] = [
    ("DELIBERATIONS", 1),
    ("ARRETES_REGLEMENTAIRES", 2),
    ("ARRETES_INDIVIDUELS", 3),
    ("CONTRATS_ET_CONVENTIONS", 4),
    ("DOCUMENTS_BUDGETAIRES_ET_FINANCIERS", 5),
    ("AUTRES", 6),
];

fn nature_code(name: &str) -> Option<u8> {
    NATURES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

fn nature_name(code: u8) -> &'static str {
    NATURES
        .iter()
        .find(|(_, c)| *c == code)
        .map_or("AUTRES", |(n, _)| n)
}

pub(crate) fn create(ctx: &Ctx, account: i64, form: Form) -> Response<Full<Bytes>> {
    let mut errors = Vec::new();
    let numero = form.text("number");
    if !number_is_valid(&numero) {
        errors.push("number: ^[A-Z0-9_]+$, 15 caractères au plus");
    }
    let objet = form.text("objet");
    if objet.is_empty() || objet.chars().count() > 500 {
        errors.push("objet: obligatoire, 500 caractères au plus");
    }
    // As EditeurRestController.create's `@RequestParam("nature") ActeNature`: Spring converts
    // the text to the enum by constant name, and a name it does not know is a 400 before any
    // validation (MethodArgumentTypeMismatchException).
    let Some(nature) = nature_code(&form.text("nature")) else {
        return status(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "status": 400,
                "error": "Bad Request",
                "message": format!(
                    "Failed to convert value of type 'java.lang.String' to required type \
                     'fr.sictiam.stela.acteservice.model.ActeNature'; No enum constant \
                     fr.sictiam.stela.acteservice.model.ActeNature.{}",
                    form.text("nature")
                ),
                "path": "/editeur/api/acte",
            }),
        );
    };
    let date = form.text("decision");
    if time::Date::parse(
        &date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .is_err()
    {
        errors.push("decision: yyyy-MM-dd");
    }
    let code = form.text("code");
    let matieres: Vec<String> = code
        .split('-')
        .filter(|l| !l.is_empty() && *l != "0")
        .map(str::to_owned)
        .collect();
    if matieres.len() < 2 {
        errors.push("code: matière inconnue");
    }
    let file = form.files("file").next();
    match file.map(|f| sniff(&f.2)) {
        Some("application/pdf" | "image/jpeg" | "image/png") => {}
        _ => errors.push("file: pdf, jpg ou png"),
    }
    let mut names = Vec::new();
    if let Some(f) = file {
        names.push(f.1.clone());
    }
    for annexe in form.files("annexes") {
        if !matches!(
            sniff(&annexe.2),
            "application/pdf" | "image/jpeg" | "image/png" | "application/xml"
        ) {
            errors.push("annexes: pdf, jpg, png ou xml");
        }
        names.push(annexe.1.clone());
    }
    if !errors.is_empty() {
        return status(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "errors": errors }),
        );
    }
    if draw(ctx.settings.pannes.ko) {
        return status(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "errors": ["Panne simulée par le bac à sable"] }),
        );
    }
    let unique_id = super::replies::id_acte(
        &ctx.settings.departement,
        &ctx.settings.siren,
        &date,
        &numero,
        nature,
    );
    let Ok(mut store) = ctx.store.lock() else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    match store.insert_acte(
        account,
        &numero,
        &unique_id,
        nature,
        &date,
        &objet,
        &matieres,
        &names,
        false,
        now_ms(),
    ) {
        Ok(Inserted::New(id)) => Response::builder()
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from(uuid_of(id))))
            .unwrap_or_default(),
        Ok(Inserted::Existing(_)) => status(
            StatusCode::CONFLICT,
            serde_json::json!({ "errors": ["number: déjà utilisé"] }),
        ),
        Err(_) => html_error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn history(acte: &StoredActe, cancelled: bool) -> serde_json::Value {
    let mut events = vec![
        serde_json::json!({ "status": "CREATED", "date": "1" }),
        serde_json::json!({ "status": "SENT", "date": "2" }),
    ];
    if acte.statut == 4 {
        events.push(serde_json::json!({ "status": "ACK_RECEIVED", "date": "3" }));
    }
    if acte.statut == -1 {
        events.push(serde_json::json!({
            "status": "NACK_RECEIVED", "date": "3", "message": acte.ar.clone().unwrap_or_default(),
        }));
    }
    if cancelled {
        events.push(serde_json::json!({ "status": "CANCELLED", "date": "4" }));
    }
    serde_json::json!({
        "uuid": uuid_of(acte.id),
        "number": acte.numero,
        "objet": acte.objet,
        "decision": acte.date_decision,
        "nature": nature_name(acte.nature),
        "acteHistories": events,
    })
}

pub(crate) fn list(ctx: &Ctx, account: i64) -> Response<Full<Bytes>> {
    let Ok(store) = ctx.store.lock() else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let Ok(actes) = store.list_actes(account) else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let list: Vec<serde_json::Value> = actes
        .iter()
        .map(|a| history(a, store.is_cancelled(a.id).unwrap_or(false)))
        .collect();
    json(&serde_json::Value::Array(list))
}

/// `GET /editeur/api/acte/{uuid}` and `POST /editeur/api/acte/{uuid}/cancel`.
pub(crate) fn one(ctx: &Ctx, account: i64, method: &str, rest: &str) -> Response<Full<Bytes>> {
    let (uuid, action) = match rest.split_once('/') {
        Some((u, a)) => (u, a),
        None => (rest, ""),
    };
    let Ok(mut store) = ctx.store.lock() else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let found = id_of(uuid).and_then(|id| store.find_acte(account, Some(id), None).ok().flatten());
    let Some(acte) = found else {
        return html_error(StatusCode::NOT_FOUND);
    };
    let Ok(acte) = acknowledge_if_due(ctx, &mut store, account, acte) else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    match (method, action) {
        ("GET", "") => {
            let cancelled = store.is_cancelled(acte.id).unwrap_or(false);
            json(&history(&acte, cancelled))
        }
        ("POST", "cancel") if acte.statut == 4 => match store.add_cancellation(account, acte.id) {
            Ok(Some(_)) => json(&serde_json::json!({ "uuid": uuid })),
            Ok(None) => status(
                StatusCode::BAD_REQUEST,
                serde_json::json!({ "errors": ["annulation déjà demandée"] }),
            ),
            Err(_) => html_error(StatusCode::INTERNAL_SERVER_ERROR),
        },
        ("POST", "cancel") => status(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "errors": ["seul un acte acquitté peut être annulé"] }),
        ),
        _ => html_error(StatusCode::NOT_FOUND),
    }
}
