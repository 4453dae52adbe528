//! The sandbox's S²LOW face for Hélios (`/modules/helios/…`): a PES received
//! (helios_importer_fichier.php), judged as the DGFiP would (a PES_Acquit per bordereau, refusing
//! missing or invalid signatures), its status and its acquit.

use super::store::Inserted;
use super::{Ctx, Form, draw, now_ms, replies, retours, text, today, xml};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use std::collections::HashMap;
use std::path::Path;

/// The answer of helios_importer_fichier.php as PHP writes it: a DOMDocument made without an
/// encoding and saved with `formatOutput` (no encoding declared, every non-ASCII character as a
/// `&#x…;` reference, an empty `<id/>` when there is no id), the message passed through
/// `utf8_encode` although already UTF-8 (so « é » travels as `&#xC3;&#xA9;`).
pub(super) fn import_answer(id: &str, resultat: &str, message: &str) -> Vec<u8> {
    let twice: String = message.bytes().map(char::from).collect();
    let references = |text: &str| -> String {
        replies::escape(text)
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("&#x{:X};", u32::from(c))
                }
            })
            .collect()
    };
    let id = if id.is_empty() {
        "  <id/>\n".to_owned()
    } else {
        format!("  <id>{}</id>\n", references(id))
    };
    format!(
        "<?xml version=\"1.0\"?>\n<import>\n{id}  <resultat>{resultat}</resultat>\n  <message>{}</message>\n</import>\n",
        references(&twice)
    )
    .into_bytes()
}

pub(super) fn import_pes(ctx: &Ctx, account: i64, form: Form) -> Response<Full<Bytes>> {
    let Some((_, name, path)) = form.files("enveloppe").next() else {
        return xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        ));
    };
    let sha1 = match std::fs::read(path) {
        Ok(bytes) => hex::encode(openssl::sha::sha1(&bytes)),
        Err(_) => {
            return xml(import_answer(
                "",
                "KO",
                "Echec lors du téléchargement du fichier",
            ));
        }
    };
    if draw(ctx.settings.pannes.ko) {
        return xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        ));
    }
    let kept = ctx.depots.join(format!("helios-{account}-{sha1}.xml"));
    if !kept.exists() && std::fs::rename(path, &kept).is_err() {
        return xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        ));
    }
    let Ok(mut store) = ctx.store.lock() else {
        return xml(import_answer("", "KO", "Erreur interne"));
    };
    match store.insert_pes(account, &sha1, name, &kept.to_string_lossy(), now_ms()) {
        Ok(Inserted::New(id)) => xml(import_answer(
            &id.to_string(),
            "OK",
            "Téléchargement du fichier réussi.",
        )),
        // As S²LOW's public.ssl/modules/helios/api/helios_importer_fichier.php (@c778077b): a
        // file whose SHA-1 it already holds is refused as a duplicate, and the answer is KO
        // « doublon détecté » with an EMPTY <id/> — the earlier transaction is not named (see
        // the reference notes, S²LOW « Corrections »).
        Ok(Inserted::Existing(_)) => xml(import_answer(
            "",
            "KO",
            crate::platform::s2low::HELIOS_DOUBLON,
        )),
        Err(_) => xml(import_answer(
            "",
            "KO",
            "Echec lors du téléchargement du fichier",
        )),
    }
}

/// Play the DGFiP: one acquit line per bordereau, refused when its signature is missing or bad.
fn judge_pes(ctx: &Ctx, path: &Path) -> (i32, Vec<u8>, crate::pes::PesSummary) {
    let summary = std::fs::File::open(path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            crate::pes::read_summary(std::io::BufReader::new(f)).map_err(|e| e.to_string())
        });
    let Ok(summary) = summary else {
        let empty = crate::pes::PesSummary::default();
        let line = replies::AckLine {
            domaine: 0,
            accepte: false,
            bordereau: None,
            exercice: None,
            erreur: Some(("ERREUR_XSD".into(), "Fichier non conforme au schéma".into())),
        };
        let acquit = replies::pes_acquit(&empty, &today(), &[line]);
        return (6, acquit, empty);
    };
    let verdict = crate::pes::verify::verify_file(path, ctx.trust.as_ref()).ok();
    // A file whose Ids are ambiguous (a bordereau copied, moved or replaced beside its signed
    // original) is refused whole: no signature in it can say what it covers.
    let ambiguous = verdict
        .as_ref()
        .is_none_or(crate::pes::verify::FileVerdict::ids_ambiguous);
    let valid_targets: Vec<String> = verdict
        .iter()
        .flat_map(|v| v.signatures.iter())
        .filter(|s| s.valide)
        .filter_map(|s| s.cible.clone())
        .collect();
    // The verifier only calls a signature valid where it stands on the element it covers, and
    // Ids are unique: a valid signature on the root's Id is the global signature.
    let global_ok = summary
        .id
        .as_ref()
        .is_some_and(|root| valid_targets.iter().any(|t| t == root));
    let mut lines = Vec::new();
    for b in &summary.bordereaux {
        let signed_ok = !ambiguous
            && (global_ok
                || b.id
                    .as_ref()
                    .is_some_and(|id| valid_targets.iter().any(|t| t == id)));
        let erreur = if signed_ok {
            None
        } else if ambiguous {
            Some((
                "ERREUR_SIGNATURE_INVALIDE".to_owned(),
                "Fichier ambigu : identifiants en double ou fichier illisible".to_owned(),
            ))
        } else if b.signe {
            Some((
                "ERREUR_SIGNATURE_BORDEREAU_INVALIDE".to_owned(),
                "Signature du bordereau invalide".to_owned(),
            ))
        } else {
            Some((
                "ERREUR_SIGNATURE_INVALIDE".to_owned(),
                "Absence de signature".to_owned(),
            ))
        };
        lines.push(replies::AckLine {
            domaine: if signed_ok { 5 } else { 3 },
            accepte: signed_ok,
            bordereau: b.numero.clone(),
            exercice: b.exercice.clone(),
            erreur,
        });
    }
    if lines.is_empty() {
        lines.push(replies::AckLine {
            domaine: 0,
            accepte: false,
            bordereau: None,
            exercice: None,
            erreur: Some(("ERREUR_XSD".into(), "Aucun bordereau".into())),
        });
    }
    let status = if lines.iter().all(|l| l.accepte) {
        4
    } else {
        6
    };
    let acquit = replies::pes_acquit(&summary, &today(), &lines);
    (status, acquit, summary)
}

fn transaction_answer(id: &str, resultat: &str, message: &str, status: Option<i32>) -> Vec<u8> {
    let status = status
        .map(|s| format!("<status>{s}</status>"))
        .unwrap_or_default();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<transaction><id>{}</id><resultat>{resultat}</resultat><message>{}</message>{status}</transaction>\n",
        replies::escape(id),
        replies::escape(message)
    );
    crate::latin1::encode_lossy(&body)
}

pub(super) fn pes_status(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let Some(id) = query.get("transaction").and_then(|s| s.parse::<i64>().ok()) else {
        return xml(transaction_answer(
            "",
            "KO",
            "Pas de numéro de transaction.",
            None,
        ));
    };
    let found = ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.find_pes(account, id).ok().flatten());
    let Some(pes) = found else {
        return xml(transaction_answer(
            &id.to_string(),
            "KO",
            "Numéro de transaction invalide",
            None,
        ));
    };
    let due = pes.recu_ms + (ctx.settings.delai_acquit_secondes * 1000.0) as i64;
    let mut status = pes.statut;
    if pes.statut == 1 && now_ms() >= due {
        let (judged, acquit, summary) = judge_pes(ctx, Path::new(&pes.chemin));
        let acknowledged = ctx
            .store
            .lock()
            .is_ok_and(|mut store| store.acknowledge_pes(pes.id, judged, &acquit).is_ok());
        if acknowledged {
            status = judged;
            if judged == 4 {
                retours::make_for_accepted_pes(ctx, account, pes.id, &summary);
            }
        }
    }
    xml(transaction_answer(
        &pes.id.to_string(),
        "OK",
        "",
        Some(status),
    ))
}

pub(super) fn pes_acquit(
    ctx: &Ctx,
    account: i64,
    query: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let id = query
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(-1);
    let found = ctx
        .store
        .lock()
        .ok()
        .and_then(|s| s.find_pes(account, id).ok().flatten());
    match found.and_then(|p| p.acquit) {
        Some(acquit) => xml(acquit),
        None => text("KO\nPas d'acquittement disponible\n"),
    }
}
