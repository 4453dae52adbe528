//! The sandbox's S²LOW face for ACTES (`/modules/actes/…`): an act received
//! (actes_transac_create.php) and its status, the préfecture's answer once due (ARActe,
//! anomalies, the letter that may follow), cancellation, the préfecture's documents (list,
//! download, marked read) and the collectivité's replies to them. Each behaviour names the S²LOW
//! file it imitates.

use super::store::{self, Inserted, Store};
use super::{Ctx, Form, draw, fichiers, json, now_ms, replies, sniff, text, today};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use std::collections::HashMap;
use std::path::Path;

pub(crate) fn number_is_valid(number: &str) -> bool {
    // ^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$
    let b = number.as_bytes();
    let ok = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 15
        && ok(&b[0])
        && ok(&b[b.len() - 1])
        && b.iter().all(|c| ok(c) || *c == b'_')
}

pub(super) fn create_acte(ctx: &Ctx, account: i64, form: Form) -> Response<Full<Bytes>> {
    let ko = |message: &str| text(&format!("KO\n{message}\n"));
    let numero = form.text("number");
    if !number_is_valid(&numero) {
        return ko("Le numéro n'est pas correct");
    }
    let date = form.text("decision_date");
    let parsed = time::Date::parse(
        &date,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    let Ok(parsed) = parsed else {
        return ko("La date de décision est incorrecte");
    };
    if parsed > time::OffsetDateTime::now_utc().date() {
        return ko("La date de décision est une date dans le futur");
    }
    let nature: u8 = form.text("nature_code").parse().unwrap_or(0);
    if !(1..=6).contains(&nature) {
        return ko("La nature de l'acte est incorrecte");
    }
    let matieres: Vec<String> = (1..=5)
        .map(|i| form.text(&format!("classif{i}")))
        .filter(|s| !s.is_empty())
        .collect();
    let Some((_, acte_name, acte_path)) = form.files("acte_pdf_file").next() else {
        return ko("Aucun fichier acte n'a été posté ");
    };
    if form.text("type_acte").is_empty() {
        return ko(&format!(
            "Erreur lors de la réception du fichier {acte_name} : typologie absente"
        ));
    }
    let mime = sniff(acte_path);
    let xml_acte = mime == "application/xml";
    if mime != "application/pdf" && !xml_acte {
        return ko(&format!(
            "Erreur de validation du fichier de l'acte :\nLe fichier de l'acte \" {acte_name} \" est de type \" {mime} \". Fichier PDF ou XML requis."
        ));
    }
    if xml_acte && nature != 5 {
        return ko(
            "Erreur de validation du fichier de l'acte :\nSeuls les documents budgétaires et financiers peuvent être au format XML.",
        );
    }
    let types_pj = form.texts("type_pj[]");
    let unique_id = replies::id_acte(
        &ctx.settings.departement,
        &ctx.settings.siren,
        &date,
        &numero,
        nature,
    );
    // Files renamed as S²LOW does: <typologie>-<IDActe>-1-1_<n>.<ext>.
    let renamed = |code: &str, n: usize, mime: &str| {
        let ext = match mime {
            "application/pdf" => "pdf",
            "image/jpeg" => "jpg",
            "image/png" => "png",
            _ => "xml",
        };
        format!("{code}-{unique_id}-1-1_{n}.{ext}")
    };
    let mut names = vec![renamed(&form.text("type_acte"), 1, mime)];
    for (i, (_, name, path)) in form.files("acte_attachments[]").enumerate() {
        if types_pj.get(i).is_none_or(|t| t.is_empty()) {
            return ko(&format!(
                "Erreur lors de la réception du fichier annexe {name} : typologie absente"
            ));
        }
        let mime = sniff(path);
        if !matches!(
            mime,
            "application/pdf" | "image/jpeg" | "image/png" | "application/xml"
        ) {
            return ko(&format!(
                "Erreur de validation d'un fichier de pièce jointe :\nLe fichier attaché \" {name} \" est de type \" {mime} \". Fichier PDF, XML, PNG ou JPEG requis."
            ));
        }
        names.push(renamed(&types_pj[i], i + 2, mime));
    }
    if draw(ctx.settings.pannes.ko) {
        return ko(
            "Erreur lors de l'enregistrement de la transaction :\nPanne simulée par le bac à sable",
        );
    }
    let objet = form.text("subject");
    let papier = form.text("document_papier") == "1";
    let Ok(mut store) = ctx.store.lock() else {
        return ko("Erreur interne");
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
        papier,
        now_ms(),
    ) {
        Ok(Inserted::New(id)) => {
            let waiting = form.text("en_attente") == "1";
            if waiting && store.hold_acte(id).is_err() {
                return ko("Erreur interne");
            }
            drop(store);
            let saved: Vec<&Path> = form
                .files("acte_pdf_file")
                .take(1)
                .chain(form.files("acte_attachments[]"))
                .map(|(_, _, path)| path.as_path())
                .collect();
            // The detached signatures sit beside the file each signs, as `<name>.p7s`.
            let signatures: Vec<&Path> = form
                .files("acte_pdf_file_sign")
                .take(1)
                .map(|(_, _, path)| path.as_path())
                .collect();
            let annexes_signatures: Vec<&Path> = form
                .files("acte_attachments_sign[]")
                .map(|(_, _, path)| path.as_path())
                .collect();
            // S²LOW reads each signature part as text and pastes it, right-trimmed, into
            // `<actes:Signature>` of the message it builds (ActesTransaction::addSign, then
            // generateActeXMLFile): base64 makes a valid message; raw DER does not, and the
            // envelope comes back in anomaly. Kept decoded, as the `.p7s` beside its file.
            let mut pasted_ok = true;
            for path in signatures.iter().chain(&annexes_signatures) {
                match std::fs::read(path).ok().and_then(|b| pasted_signature(&b)) {
                    Some(der) => pasted_ok &= std::fs::write(path, der).is_ok(),
                    None => pasted_ok = false,
                }
            }
            if !pasted_ok {
                let _ = ctx.store.lock().map(|mut s| {
                    s.reject_acte(
                        id,
                        "Erreur lors de la validation de l'enveloppe : le contenu de \
                         <actes:Signature> n'est pas un texte base64 valide",
                    )
                });
            }
            let signed_names = |first: usize, count: usize| -> Vec<String> {
                names
                    .iter()
                    .skip(first)
                    .take(count)
                    .map(|n| format!("{n}.p7s"))
                    .collect()
            };
            // The files are kept for the bordereau and the stamped copies; a failure here
            // only means those cannot be given later.
            let _ = fichiers::keep(ctx, id, &saved, &names);
            let _ = fichiers::keep(ctx, id, &signatures, &signed_names(0, signatures.len()));
            let _ = fichiers::keep(
                ctx,
                id,
                &annexes_signatures,
                &signed_names(1, annexes_signatures.len()),
            );
            text(&format!("OK\n{id}\n\n"))
        }
        Ok(Inserted::Existing(_)) => ko(
            "Un acte portant le même numéro interne existe déjà dans la base de données.\nIl faut peut-être ajouter un suffixe au numéro.",
        ),
        Err(e) => ko(&format!(
            "Erreur lors de l'enregistrement de la transaction :\n{e}"
        )),
    }
}

/// A signature part as S²LOW pastes it into the ACTES message: text, right-trimmed, which must
/// be base64 (line breaks allowed) to make a valid `<actes:Signature>`; its decoded bytes.
fn pasted_signature(part: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(part).ok()?.trim_end();
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if clean.is_empty()
        || !clean
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return None;
    }
    openssl::base64::decode_block(&clean).ok()
}

pub(super) fn acte_status(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query.get("transaction").and_then(|s| s.parse::<i64>().ok());
    let unique_id = query.get("unique_id").map(String::as_str);
    if id.is_none() && unique_id.is_none() {
        return text("KO\nNuméro de transaction invalide.\n");
    }
    let Ok(mut store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let Ok(Some(acte)) = store.find_acte(account, id, unique_id) else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    let Ok(acte) = acknowledge_if_due(ctx, &mut store, account, acte) else {
        return text("KO\nErreur interne\n");
    };
    match (acte.statut, &acte.ar) {
        (4, Some(ar)) => text(&format!("OK\n4\n{ar}")),
        (-1, Some(message)) => text(&format!("OK\n-1\n{message}\n")),
        (statut, _) => text(&format!("OK\n{statut}\n")),
    }
}

/// Why what the préfecture received does not conform to the ACTES schema, if it does not: the
/// schema shipped inside the program, or the one the sandbox's settings name.
fn schema_anomaly(ctx: &Ctx, ar: &str) -> Option<String> {
    use crate::xml::schema::{Builtin, SchemaKind, XmlSchema};
    let check = || -> Result<Vec<crate::findings::Finding>, String> {
        let schema = if ctx.settings.schema_actes.is_empty() {
            Builtin::Actes.load(&ctx.depots)
        } else {
            XmlSchema::load(Path::new(&ctx.settings.schema_actes), SchemaKind::Actes)
        }
        .map_err(|e| e.to_string())?;
        schema
            .validate_bytes("acte-recu.xml", &crate::latin1::encode_lossy(ar))
            .map_err(|e| e.to_string())
    };
    match check() {
        // Only libxml2's own words (after the first colon) are kept: the anomaly says the rest.
        Ok(findings) => findings.first().map(|f| {
            let detail = f
                .message
                .split_once(" : ")
                .map_or(f.message.as_str(), |(_, d)| d);
            format!(
                "Anomalie (nature 020) : l'acte reçu n'est pas conforme au schéma ACTES : {detail}"
            )
        }),
        // A schema that cannot be used is the sandbox's problem, not the act's.
        Err(_) => None,
    }
}

/// Why the préfecture refuses the matière, if it does.
fn classification_anomaly(ctx: &Ctx, matieres: &[String]) -> Option<String> {
    let xml = replies::classification_xml(&ctx.settings.date_classification);
    let classification =
        crate::actes::classification::Classification::parse(&xml, "bac-a-sable").ok()?;
    let levels: Vec<u32> = matieres.iter().filter_map(|m| m.parse().ok()).collect();
    let code = crate::actes::model::CodeMatiere::from_levels(levels)?;
    if classification.libelle(&code).is_some() {
        return None;
    }
    Some(format!(
        "Anomalie (nature 012) : la matière {} n'existe pas dans la classification en vigueur du {}.",
        matieres.join("."),
        ctx.settings.date_classification
    ))
}

/// The préfecture's part: once the delay has passed, the act gets its AR (and, if set, a letter).
pub(crate) fn acknowledge_if_due(
    ctx: &Ctx,
    store: &mut Store,
    account: i64,
    mut acte: store::StoredActe,
) -> rusqlite::Result<store::StoredActe> {
    let due = acte.recu_ms + (ctx.settings.delai_ar_secondes * 1000.0) as i64;
    if acte.statut != 1 || now_ms() < due {
        return Ok(acte);
    }
    // The préfecture checks the matière against the classification in force: an act classified
    // under a matière it does not know gets an anomaly instead of an AR.
    if let Some(message) = classification_anomaly(ctx, &acte.matieres) {
        store.reject_acte(acte.id, &message)?;
        acte.statut = -1;
        acte.ar = Some(message);
        return Ok(acte);
    }
    let ar = replies::ar_acte(&replies::ActeRecu {
        id_acte: &acte.unique_id,
        nature: acte.nature,
        date_decision: &acte.date_decision,
        numero: &acte.numero,
        matieres: &acte.matieres,
        objet: &acte.objet,
        fichiers: &acte.fichiers,
        date_reception: &today(),
        classification_date: &ctx.settings.date_classification,
        document_papier: acte.papier,
    });
    // The préfecture's check of what reaches it: the act's data as the AR carries them must
    // conform to the ACTES schema (an objet longer than it allows, for instance).
    if let Some(message) = schema_anomaly(ctx, &ar) {
        store.reject_acte(acte.id, &message)?;
        acte.statut = -1;
        acte.ar = Some(message);
        return Ok(acte);
    }
    store.acknowledge_acte(acte.id, &ar)?;
    let letter = match ctx.settings.courrier_apres_ar.as_str() {
        "courrier_simple" => Some(2),
        "demande_pieces" => Some(3),
        "lettre_observations" => Some(4),
        _ => None,
    };
    if let Some(kind) = letter {
        let archive = replies::prefecture_document(kind, &acte.unique_id, &today());
        store.add_document(account, acte.id, kind, &archive)?;
    }
    acte.statut = 4;
    acte.ar = Some(ar);
    Ok(acte)
}

pub(super) fn cancel_acte(ctx: &Ctx, account: i64, form: &Form) -> Response<Full<Bytes>> {
    let Ok(id) = form.text("id").parse::<i64>() else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    let Ok(mut store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let Ok(Some(acte)) = store.find_acte(account, Some(id), None) else {
        return text("KO\nNuméro de transaction invalide.\n");
    };
    if acte.statut != 4 {
        return text(
            "KO\nImpossible d'annuler une transaction qui n'est pas en état « Acquittement reçu ».\n",
        );
    }
    match store.add_cancellation(account, acte.id) {
        Ok(Some(cancel_id)) => text(&format!("OK\n{cancel_id}\n")),
        Ok(None) => {
            text("KO\nUne demande d'annulation est déjà en cours pour cette transaction.\n")
        }
        Err(_) => text("KO\nErreur interne\n"),
    }
}

/// The collectivité answers a préfecture document, as actes_transac_reponse_create.php
/// (libriciel/s2low) takes it, in its order: the typology of the answer, its file, the pieces,
/// then the message, whose kind comes from the letter's own type and `type_envoie`
/// (ActesTransaction::generateReponseCourrierXMLFile and getStdFileName): a courrier simple gets a
/// ReponseCourrierSimple (2-2) whatever `type_envoie` says; a demande de pièces (3) or a lettre
/// d'observations (4) gets `{type}-{type_envoie}` with `type_envoie` 3 (refus, rejet) or 4
/// (envoi, réponse), anything else being « Vous devez choisir un type de réponse »; any other
/// letter (a déféré) or an id that names none is « Mauvais type de transaction. » — the script
/// loads the letter without checking it exists. Recorded: the letter and the message code.
/// The real script takes a letter of any collectivité; the sandbox, the account's own only.
pub(super) fn reply_to_document(ctx: &Ctx, account: i64, form: &Form) -> Response<Full<Bytes>> {
    if form.text("type_acte").is_empty() {
        return text("KO\nErreur lors de la réception du fichier : typologie absente\n");
    }
    let Some((_, name, path)) = form.files("acte_pdf_file").next() else {
        return text("KO\nEnvoi de fichier illégal.\n");
    };
    // ActesTransaction::addFile for the file of an answer (not a type-1 act): its MIME type
    // read from the content must be PDF, XML, PNG or JPEG, then its typology (`code_pj`) match
    // `^[A-Z0-9_]{5}$`. (The script gathers every file's errors before answering; the sandbox
    // answers the first.)
    let accepted = |mime: &str| {
        matches!(
            mime,
            "application/pdf" | "application/xml" | "image/png" | "image/jpeg"
        )
    };
    let code_ok = |code: &str| {
        code.len() == 5
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    if !accepted(sniff(path)) {
        return text(&format!(
            "KO\nErreur de validation du fichier de l'acte :\nLe fichier de réponse \" {name} \" est de type \" {} \". Fichier PDF, XML, PNG ou JPEG requis.\n",
            sniff(path)
        ));
    }
    if !code_ok(&form.text("type_acte")) {
        return text(
            "KO\nErreur de validation du fichier de l'acte :\nLe code de la PJ doit faire 5 caractères\n",
        );
    }
    let types = form.texts("type_pj[]");
    for (i, (_, piece, piece_path)) in form.files("acte_attachments[]").enumerate() {
        if types.get(i).is_none_or(|t| t.is_empty()) {
            return text(&format!(
                "KO\nErreur lors de la réception du fichier annexe {piece} : typologie absente\n"
            ));
        }
        if !accepted(sniff(piece_path)) {
            return text(&format!(
                "KO\nErreur de validation d'un fichier de pièce jointe :\nLe fichier attaché \" {piece} \" est de type \" {} \". Fichier PDF, XML, PNG ou JPEG requis.\n",
                sniff(piece_path)
            ));
        }
        if !types.get(i).is_some_and(|t| code_ok(t)) {
            return text(
                "KO\nErreur de validation d'un fichier de pièce jointe :\nLe code de la PJ doit faire 5 caractères\n",
            );
        }
    }
    let Ok(mut store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let document = form.text("id").parse::<i64>().ok();
    let kind = match document.map(|d| store.document_kind(account, d)) {
        Some(Ok(kind)) => kind,
        Some(Err(_)) => return text("KO\nErreur interne\n"),
        None => None,
    };
    let type_envoie = form.text("type_envoie");
    let code = match (kind, type_envoie.as_str()) {
        (Some(2), _) => "2-2".to_owned(),
        (Some(k @ (3 | 4)), t @ ("3" | "4")) => format!("{k}-{t}"),
        (Some(3 | 4), _) => {
            return text(
                "KO\nErreur lors de la génération de l'acte : Vous devez choisir un type de réponse\n",
            );
        }
        _ => {
            return text(
                "KO\nErreur lors de la génération de l'acte : Mauvais type de transaction.\n",
            );
        }
    };
    match document.map(|d| store.add_reply(account, d, &code)) {
        Some(Ok(Some(id))) => text(&format!("OK\n{id}\n")),
        Some(Err(_)) => text("KO\nErreur interne\n"),
        _ => text("KO\nErreur lors de la génération de l'acte : Mauvais type de transaction.\n"),
    }
}

pub(super) fn list_documents(ctx: &Ctx, account: i64) -> Response<Full<Bytes>> {
    let Ok(store) = ctx.store.lock() else {
        return text("KO\nErreur interne\n");
    };
    let Ok(documents) = store.unread_documents(account) else {
        return text("KO\nErreur interne\n");
    };
    // As S²LOW's PHP prints them: every value a string.
    let list: Vec<serde_json::Value> = documents
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id.to_string(),
                "type": d.genre.to_string(),
                "last_status_id": "7",
                "unique_id": d.unique_id,
                "number": d.numero,
                "related_transaction_id": d.acte_id.to_string(),
            })
        })
        .collect();
    json(&serde_json::Value::Array(list))
}

/// `actes_transac_get_document.php?id=`: for a préfecture document S²LOW does not answer with
/// the archive but with a redirect to `actes_download_file.php?env=<envelope>`, a path relative
/// to the module (actes_transac_get_document.php, last branch: `header("Location: …")`).
pub(super) fn get_document(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    match ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.document(account, id).ok().flatten())
    {
        Some(_) => Response::builder()
            .status(StatusCode::FOUND)
            .header("content-type", "text/plain")
            .header("location", format!("actes_download_file.php?env={id}"))
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
        None => text("KO\nNuméro de transaction invalide.\n"),
    }
}

/// `actes_download_file.php?env=`: the envelope (the `.tar.gz`) of a transaction — here, of a
/// préfecture document (actes_download_file.php, `$mode = "env"`, `$env->sendfile()`).
pub(crate) fn download_envelope(ctx: &Ctx, account: i64, env: &str) -> Response<Full<Bytes>> {
    let id = env.parse::<i64>().unwrap_or(-1);
    match ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.document(account, id).ok().flatten())
    {
        Some(archive) => Response::builder()
            .header("content-type", "application/x-gzip")
            .body(Full::new(Bytes::from(archive)))
            .unwrap_or_default(),
        // The real page sends the browser home with a message in the session.
        None => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "/")
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
    }
}

pub(super) fn mark_document_read(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query
        .get("transaction_id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    match ctx.store.lock().ok().map(|mut s| s.mark_read(account, id)) {
        Some(Ok(true)) => json(&serde_json::json!({ "result": "ok" })),
        _ => json(&serde_json::json!({ "result": "ko", "message": "Document introuvable" })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_s2low_rule() {
        for ok in ["A", "2026_D12", "DEL2026001", "A_B"] {
            assert!(number_is_valid(ok), "{ok}");
        }
        for bad in ["", "_A", "A_", "a12", "1234567890123456", "D-12"] {
            assert!(!number_is_valid(bad), "{bad}");
        }
    }
}
