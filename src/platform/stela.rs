//! Client of STELA's editor API for ACTES (`EditeurRestController`, reference notes
//! `platform-stela-api.md`): create, status, cancel, finding an act again in the list (the
//! reconciliation after an answer lost or a 409), the préfecture's letters its history announces
//! and the replies to them. Names and rules follow STELA's own code at its last commit
//! (SICTIAM/stela, April 2019): the `Acte` entity with `localAuthority`, `draft` and
//! `acteHistories` (`uuid`, `status`, `date`, `flux`, `message`, `fileName`), the enums
//! `ActeNature` and `StatusType`, ValidationService's checks. The sandbox imitates the same code.
//! STELA carries no Hélios flow.

use super::http::{Field, Http};
use super::s2low::{
    ActeFields, ActeFiles, ActeStatus, HeliosImport, PrefectureDocument, Reference, Reply,
    UploadProgress,
};
use super::tls::SharedCardKey;
use super::{ActeLetter, ActeLookup, Platform, PlatformError};
use crate::messages::{t, tf};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct Stela {
    base: url::Url,
    http: Http,
}

/// STELA's names for the ACTES natures: the constants of its enum `ActeNature`
/// (`acte-service/…/model/ActeNature.java`, codes 01 to 06), which Spring binds the `nature`
/// parameter to by name — any other name is a 400.
pub fn nature_name(code: u8) -> &'static str {
    match code {
        1 => "DELIBERATIONS",
        2 => "ARRETES_REGLEMENTAIRES",
        3 => "ARRETES_INDIVIDUELS",
        4 => "CONTRATS_ET_CONVENTIONS",
        5 => "DOCUMENTS_BUDGETAIRES_ET_FINANCIERS",
        _ => "AUTRES",
    }
}

/// `1.2` → `1-2-0-0-0` (STELA's matière codes have five levels).
///
/// STELA takes one digit per level (`^[0-9]-[0-9]-[0-9]-[0-9]-[0-9]$` in `ActeParams`): a matière
/// such as 7.10 cannot go through STELA. Only this act is unsendable; the pass goes on.
pub fn material_code(matiere: &str) -> Result<String, PlatformError> {
    let mut levels: Vec<&str> = matiere.split('.').filter(|l| !l.is_empty()).collect();
    if levels.len() > 5
        || levels
            .iter()
            .any(|l| l.len() != 1 || !l.as_bytes()[0].is_ascii_digit())
    {
        return Err(PlatformError::Unsendable(tf(
            "plateforme.stela_matiere",
            &[("matiere", matiere)],
        )));
    }
    levels.resize(5, "0");
    Ok(levels.join("-"))
}

/// STELA's anomalies: the `StatusType` constants built with `anomaly = true`
/// (`acte-service/…/model/StatusType.java`).
const ANOMALIES: [&str; 6] = [
    "ANTIVIRUS_KO",
    "NOT_SENT",
    "NACK_RECEIVED",
    "ARCHIVE_TOO_LARGE",
    "FILE_ERROR",
    "SIGNATURE_ERROR",
];

/// An act's state from the events its history holds, as an ACTES status code (S²LOW's
/// numbering, which the sender understands), with the anomaly's words for a refusal.
///
/// Decided by which events are there, never by the newest one: STELA keeps adding events after
/// the AR (notifications, letters from the préfecture and the archives answering them, SAE
/// archiving), and writes them as its tasks run — an empty history right after the creation is
/// normal.
/// - `CANCELLED` (RetourPrefectureService.receiveARAnnulation): 0;
/// - `ACK_RECEIVED` (RetourPrefectureService.receiveARActe, recorded without a flux): 4, as
///   ActeService.isActeACK decides;
/// - an anomaly of the act's own transmission (flux `TRANSMISSION_ACTE`, or none, as
///   `NACK_RECEIVED` has) since it was last deposited (`CREATED`, `RECREATED`): -1. An anomaly
///   in the flux of a reply (ArchiveService.checkEventSignature and checkEventAntivirus keep the
///   reply's flux) does not refuse the act;
/// - `SENT` of the act's transmission: 3; anything else: 1.
pub fn status_from_history(act: &serde_json::Value) -> Option<(i32, String)> {
    let events = act.get("acteHistories")?.as_array()?;
    let status = |e: &serde_json::Value| e["status"].as_str().unwrap_or_default().to_owned();
    let any = |wanted: &str| events.iter().any(|e| status(e) == wanted);
    if any("CANCELLED") {
        return Some((0, String::new()));
    }
    if any("ACK_RECEIVED") {
        return Some((4, String::new()));
    }
    // STELA writes LocalDateTime as ISO_LOCAL_DATE_TIME: the texts sort as the moments do.
    let date = |e: &serde_json::Value| e["date"].as_str().unwrap_or_default().to_owned();
    let deposited = events
        .iter()
        .filter(|e| matches!(status(e).as_str(), "CREATED" | "RECREATED"))
        .map(date)
        .max()
        .unwrap_or_default();
    let current: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| date(e) >= deposited)
        .filter(|e| matches!(e["flux"].as_str(), None | Some("TRANSMISSION_ACTE")))
        .collect();
    if let Some(anomaly) = current
        .iter()
        .find(|e| ANOMALIES.contains(&status(e).as_str()))
    {
        return Some((-1, anomaly_detail(anomaly)));
    }
    if current.iter().any(|e| status(e) == "SENT") {
        return Some((3, String::new()));
    }
    Some((1, String::new()))
}

/// What an anomaly says, in French, with STELA's own message when it gives one (a NACK carries
/// the préfecture's words; ARCHIVE_TOO_LARGE and NOT_SENT carry none).
fn anomaly_detail(event: &serde_json::Value) -> String {
    let label = match event["status"].as_str().unwrap_or_default() {
        "ANTIVIRUS_KO" => t("plateforme.stela_anomalie_antivirus"),
        "NOT_SENT" => t("plateforme.stela_anomalie_non_envoye"),
        "NACK_RECEIVED" => t("plateforme.stela_anomalie_prefecture"),
        "ARCHIVE_TOO_LARGE" => t("plateforme.stela_anomalie_archive_trop_grande"),
        "FILE_ERROR" => t("plateforme.stela_anomalie_fichier"),
        _ => t("plateforme.stela_anomalie_signature"),
    };
    match event["message"].as_str().map(str::trim) {
        Some(message) if !message.is_empty() => tf(
            "plateforme.stela_anomalie_detail",
            &[("anomalie", &label), ("message", message)],
        ),
        _ => label,
    }
}

/// The name a file is sent under: its own name as the HTTP layer sends any part (sanitised),
/// with the extension in lower case and `jpeg` as `jpg` — ValidationService.validateFile checks
/// the original name's extension case-sensitively against pdf, jpg, png (and xml), and the
/// content is the same whatever the name says.
fn stela_file_name(path: &Path) -> String {
    let name = super::http::part_name(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            let ext = ext.to_ascii_lowercase();
            let ext = if ext == "jpeg" { "jpg".to_owned() } else { ext };
            format!("{stem}.{ext}")
        }
        None => name,
    }
}

/// The names the annexes are sent under, each unique: STELA types an annex by the first
/// `annexeTypes` entry whose name is the part's original file name, exactly
/// (ValidationService.getTypeForAnnexe, ActeService.getCodeForAnnexeFilename), so the entry
/// must carry the very name sent, and two annexes of the same name would both get the first
/// one's type.
fn annexe_names(annexes: &[&Path]) -> Vec<String> {
    let mut used = std::collections::HashSet::new();
    annexes
        .iter()
        .map(|path| {
            let name = stela_file_name(path);
            let mut unique = name.clone();
            let mut n = 1;
            while !used.insert(unique.clone()) {
                n += 1;
                unique = format!("{n}_{name}");
            }
            unique
        })
        .collect()
}

/// STELA's 400 (CustomValidationUI, or Spring's error document) as words: each field and its
/// message, else the document's message, else the body's start.
fn validation_errors(body: &[u8]) -> String {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return excerpt(body);
    };
    let errors: Vec<String> = doc["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let message = e["defaultMessage"].as_str()?;
            Some(match e["field"].as_str() {
                Some(field) => format!("{field} : {message}"),
                None => message.to_owned(),
            })
        })
        .collect();
    if !errors.is_empty() {
        return errors.join(" ; ");
    }
    doc["message"]
        .as_str()
        .map_or_else(|| excerpt(body), str::to_owned)
}

/// The page size asked of STELA's list: EditeurRestController.getActeList's default `limit`.
const PAGE: usize = 25;
/// How many pages of the list are read at most (newest acts of every collectivité first).
const MAX_PAGES: usize = 400;

/// The SIREN of an `IDActe` (département-SIREN-date-numéro-nature: none of the fields before
/// the number holds a dash).
fn siren_of(id_acte: &str) -> Option<&str> {
    id_acte
        .split('-')
        .nth(1)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

/// The editor API's answer to each letter (EditeurRestController): the path under the act and
/// its file part. A courrier simple has no refusal; a déféré no answer.
fn reply_route(kind: u8, refus: bool) -> Option<(&'static str, &'static str)> {
    match (kind, refus) {
        (2, false) => Some(("courrier-simple", "file")),
        (3, false) => Some(("pieces-complementaires", "files")),
        (3, true) => Some(("pieces-complementaires/reject", "file")),
        (4, false) => Some(("lettre-observation", "file")),
        (4, true) => Some(("lettre-observation/reject", "file")),
        _ => None,
    }
}

/// The letters RetourPrefectureService records in an act's history, by ACTES transaction type.
const LETTERS: [(&str, u8); 4] = [
    ("COURRIER_SIMPLE_RECEIVED", 2),
    ("DEMANDE_PIECE_COMPLEMENTAIRE_RECEIVED", 3),
    ("LETTRE_OBSERVATION_RECEIVED", 4),
    ("DEFERE_RECEIVED", 5),
];

/// The type of the newest préfecture letter in an act's history (`None`: none received).
pub fn newest_letter_kind(act: &serde_json::Value) -> Option<u8> {
    act.get("acteHistories")?
        .as_array()?
        .iter()
        .filter_map(|e| {
            let kind = LETTERS
                .iter()
                .find(|(status, _)| e["status"].as_str() == Some(status))?
                .1;
            Some((e["date"].as_str().unwrap_or_default(), kind))
        })
        .max_by(|a, b| a.0.cmp(b.0))
        .map(|(_, kind)| kind)
}

/// The préfecture's letters an act's history announces, oldest first, each as the note the
/// sender keeps with the act.
///
/// What the real server gives (SICTIAM/stela, `acte-service`): RetourPrefectureService records
/// each letter as an ActeHistory (LETTERS) with the PDF's name and the message's words
/// (DescriptionPieces, Motif, NatureIllegalite); the entity's `file` is `@JsonIgnore`, so
/// `GET /editeur/api/acte/{uuid}` gives the entry's `uuid`, `status`, `date`, `message` and
/// `fileName` but never the letter. The only REST route to the file,
/// ActeRestController.getFileHistory (`/api/acte/{uuid}/history/{historyUuid}/file`), wants
/// the `STELA-Current-Profile-Rights` that AuthFilter sets from a user's session token, and the
/// api-gateway (WebSecurityConfig) sends every `/api/**` call without a session to the login:
/// a certificate alone cannot fetch it. So each letter is kept as a note saying what came and
/// where to read it.
///
/// Each is keyed by its history entry's `uuid` (ActeHistory's generated id, the same at every
/// reading), or — should an entry come without one — by its type and date: the sender keeps a
/// key once, so the same letter is never announced twice.
pub fn letters_from_history(act: &serde_json::Value) -> Vec<ActeLetter> {
    let Some(events) = act.get("acteHistories").and_then(|h| h.as_array()) else {
        return Vec::new();
    };
    let text = |e: &serde_json::Value, field: &str| {
        e[field]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut letters: Vec<(String, ActeLetter)> = events
        .iter()
        .filter_map(|e| {
            let kind = LETTERS
                .iter()
                .find(|(status, _)| e["status"].as_str() == Some(status))?
                .1;
            let date = text(e, "date").unwrap_or_default();
            let key = text(e, "uuid")
                .filter(|u| u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
                .unwrap_or_else(|| {
                    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
                    format!("{kind}-{digits}")
                });
            let mut lines = vec![tf(
                "plateforme.stela_courrier_titre",
                &[
                    ("genre", &t(&format!("gui.recu_courrier_prefecture_{kind}"))),
                    ("date", &french_moment(&date)),
                    ("numero", &text(act, "number").unwrap_or_default()),
                ],
            )];
            if let Some(message) = text(e, "message") {
                lines.push(tf(
                    "plateforme.stela_courrier_message",
                    &[("message", &message)],
                ));
            }
            if let Some(file) = text(e, "fileName") {
                lines.push(tf(
                    "plateforme.stela_courrier_fichier",
                    &[("fichier", &file)],
                ));
            }
            lines.push(tf(
                "plateforme.stela_courrier_a_lire",
                &[("uuid", &text(act, "uuid").unwrap_or_default())],
            ));
            lines.push(if kind == 5 {
                t("plateforme.stela_courrier_defere")
            } else {
                tf("plateforme.stela_courrier_reponse", &[("cle", &key)])
            });
            let mut note = lines.join("\n");
            note.push('\n');
            Some((date, ActeLetter { key, kind, note }))
        })
        .collect();
    // The entity's history comes newest first; the letters are kept in the order they came.
    letters.sort_by(|a, b| a.0.cmp(&b.0));
    letters.into_iter().map(|(_, letter)| letter).collect()
}

/// STELA's ISO_LOCAL_DATE_TIME (`2026-11-27T10:05:02.123`) as `27/11/2026 à 10:05`; any other
/// text as it is.
fn french_moment(date: &str) -> String {
    let part = |range: std::ops::Range<usize>| {
        date.get(range)
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
    };
    match (
        part(0..4),
        part(5..7),
        part(8..10),
        part(11..13),
        part(14..16),
    ) {
        (Some(y), Some(m), Some(d), Some(h), Some(min)) => format!("{d}/{m}/{y} à {h}:{min}"),
        _ => date.to_owned(),
    }
}

impl Stela {
    /// Act `uuid` as the editor API gives it (`GET /editeur/api/acte/{uuid}`: its history
    /// included), with the body as received for error messages; an act STELA does not know is
    /// said so. The one reading of an act, for its status, its letters and its newest letter.
    fn acte_record(&self, uuid: &str) -> Result<(serde_json::Value, Vec<u8>), PlatformError> {
        let url = self.url(&format!("/editeur/api/acte/{uuid}"))?;
        let (status, body) = self.checked(self.http.get(url)?)?;
        if status == 404 {
            return Err(PlatformError::Ko(tf(
                "plateforme.stela_inconnu",
                &[("uuid", uuid)],
            )));
        }
        let act: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| PlatformError::Unknown(excerpt(&body)))?;
        Ok((act, body))
    }

    /// The type of the newest letter the préfecture sent about act `uuid`.
    fn newest_letter(&self, uuid: &str) -> Result<u8, PlatformError> {
        let (act, _) = self.acte_record(uuid)?;
        newest_letter_kind(&act).ok_or_else(|| {
            PlatformError::Ko(tf("plateforme.stela_aucun_courrier", &[("uuid", uuid)]))
        })
    }

    pub fn new(
        address: &str,
        ca: Option<&Path>,
        key: Option<SharedCardKey>,
        timeout: Duration,
    ) -> Result<Stela, PlatformError> {
        Ok(Stela {
            base: super::s2low::https_base(address)?,
            http: Http::new(ca, key, timeout)?,
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, PlatformError> {
        super::http::join(&self.base, path)
    }

    /// 5xx is an unknown outcome; 401 is the configuration; other 4xx are for the caller to
    /// read.
    fn checked(&self, (status, body): (u16, Vec<u8>)) -> Result<(u16, Vec<u8>), PlatformError> {
        if status == 401 {
            // STELA's CertificateInterceptor answers 401 to every editor call whose certificate
            // is paired with no collectivité (ExternalRestService.getLocalAuthorityByCertificate
            // found none): nothing about the act, which must not be refused for it.
            return Err(PlatformError::Config(t(
                "plateforme.stela_certificat_non_enregistre",
            )));
        }
        if status >= 500 {
            return Err(PlatformError::Unknown(tf(
                "plateforme.http",
                &[("code", &status.to_string()), ("extrait", &excerpt(&body))],
            )));
        }
        Ok((status, body))
    }
}

impl Platform for Stela {
    /// STELA's editor API has no test call: a page of its list of acts proves the connection
    /// and that the certificate is paired with a collectivité (else a 401). The list mixes every
    /// collectivité's acts: nothing to count in it.
    fn test_connection(&self) -> Result<String, PlatformError> {
        let mut url = self.url("/editeur/api/acte")?;
        url.query_pairs_mut().append_pair("limit", "1");
        let (status, body) = self.checked(self.http.get(url)?)?;
        if !(200..300).contains(&status) {
            return Err(PlatformError::Ko(excerpt(&body)));
        }
        let list: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| PlatformError::Unknown(excerpt(&body)))?;
        if !list.is_array() {
            return Err(PlatformError::Unknown(excerpt(&body)));
        }
        Ok(t("plateforme.stela_connexion"))
    }

    fn acte_create(
        &self,
        fields: &ActeFields,
        files: &ActeFiles,
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<String, PlatformError> {
        // EditeurRestController.create takes no detached signature: the act goes without them
        // (a signed PDF carries its own).
        let (acte, annexes) = (files.acte, files.annexes);
        let text = Field::text;
        let mut form = vec![
            text("number", &fields.numero),
            text("objet", &fields.objet),
            text("nature", nature_name(fields.nature_code)),
            text("code", &material_code(&fields.matiere)?),
            text("decision", &fields.date_decision),
            text("fileType", &fields.type_acte),
            Field::FileAs("file".into(), acte.to_owned(), stela_file_name(acte)),
        ];
        for ((path, name), typologie) in annexes
            .iter()
            .zip(annexe_names(annexes))
            .zip(&fields.types_annexes)
        {
            form.push(text("annexeTypes", &format!("{name}:{typologie}")));
            form.push(Field::FileAs("annexes".into(), path.to_path_buf(), name));
        }
        let url = self.url("/editeur/api/acte")?;
        let (status, body) = self.checked(self.http.post(url, form, progress)?)?;
        let text = String::from_utf8_lossy(&body)
            .trim()
            .trim_matches('"')
            .to_owned();
        match status {
            200 | 201 if !text.is_empty() && !text.starts_with('<') => Ok(text),
            409 => Err(PlatformError::Duplicate(tf(
                "plateforme.stela_numero_existant",
                &[("numero", &fields.numero)],
            ))),
            400..=499 => Err(PlatformError::Ko(validation_errors(&body))),
            _ => Err(PlatformError::Unknown(excerpt(&body))),
        }
    }

    fn acte_status(&self, reference: &Reference) -> Result<ActeStatus, PlatformError> {
        let Reference::Transaction(uuid) = reference else {
            return Err(PlatformError::Config(tf("plateforme.stela_sans_uuid", &[])));
        };
        let (act, body) = self.acte_record(uuid)?;
        let (code, message) =
            status_from_history(&act).ok_or_else(|| PlatformError::Unknown(excerpt(&body)))?;
        Ok(ActeStatus {
            code,
            detail: if code == -1 { message } else { String::new() },
        })
    }

    /// The act the sender looks for, in STELA's list of acts. That list
    /// (EditeurRestController.getActeList → ActeService.getAllFull) is not filtered by
    /// collectivité — the collectivité is passed and never used — and holds the drafts; it comes
    /// by pages (`limit`, 25 by default, and `offset`), newest creation first. The act is the one
    /// of this SIREN with this number, decision date and nature, not a draft. STELA refuses a
    /// number already held in the collectivité by any act or draft, whatever its year or nature
    /// (ActeService.numberExist → ActeRepository.findByNumberAndLocalAuthorityUuid): when another
    /// act or a draft holds it, or when STELA has just said so, sending again would only be
    /// refused again — the act is refused with that reason.
    fn acte_find(&self, lookup: &ActeLookup) -> Result<Option<Reference>, PlatformError> {
        let acte = lookup.acte;
        let siren = siren_of(lookup.id_acte).ok_or_else(|| {
            PlatformError::Config(tf(
                "plateforme.stela_id_acte_illisible",
                &[("id", lookup.id_acte)],
            ))
        })?;
        let nature = nature_name(acte.nature_code);
        let mut taken = false;
        let mut whole_list = false;
        for page in 0..MAX_PAGES {
            let mut url = self.url("/editeur/api/acte")?;
            url.query_pairs_mut()
                .append_pair("limit", &PAGE.to_string())
                .append_pair("offset", &(page * PAGE).to_string());
            let (status, body) = self.checked(self.http.get(url)?)?;
            if !(200..300).contains(&status) {
                return Err(PlatformError::Unknown(tf(
                    "plateforme.http",
                    &[("code", &status.to_string()), ("extrait", &excerpt(&body))],
                )));
            }
            let list: Vec<serde_json::Value> = serde_json::from_slice(&body)
                .map_err(|_| PlatformError::Unknown(excerpt(&body)))?;
            for act in &list {
                if act["number"].as_str() != Some(acte.numero.as_str())
                    || act["localAuthority"]["siren"].as_str() != Some(siren)
                {
                    continue;
                }
                let draft = !act["draft"].is_null();
                if !draft
                    && act["decision"].as_str() == Some(acte.date_decision.as_str())
                    && act["nature"].as_str() == Some(nature)
                    && let Some(uuid) = act["uuid"].as_str()
                {
                    return Ok(Some(Reference::Transaction(uuid.to_owned())));
                }
                taken = true;
            }
            if list.len() < PAGE {
                whole_list = true;
                break;
            }
        }
        if taken || lookup.after_conflict {
            return Err(PlatformError::Ko(tf(
                "plateforme.stela_numero_deja_utilise",
                &[("numero", &acte.numero)],
            )));
        }
        if !whole_list {
            // Not seen in the newest acts of the whole platform, and the list not read to its
            // end: sending again could make a second act; a person must look.
            return Err(PlatformError::Unknown(tf(
                "plateforme.stela_liste_trop_longue",
                &[("nombre", &(MAX_PAGES * PAGE).to_string())],
            )));
        }
        Ok(None)
    }

    fn acte_cancel(&self, uuid: &str) -> Result<String, PlatformError> {
        let url = self.url(&format!("/editeur/api/acte/{uuid}/cancel"))?;
        let (status, body) = self.checked(self.http.post(url, Vec::new(), None)?)?;
        match status {
            200..=299 => Ok(uuid.to_owned()),
            _ => Err(PlatformError::Ko(
                String::from_utf8_lossy(&body).trim().to_owned(),
            )),
        }
    }

    /// STELA answers the préfecture under the act (EditeurRestController, SICTIAM/stela): its
    /// endpoints name the act, never the letter, and STELA builds the message itself
    /// (ArchiveService.createMessageArchiveWithAttachment, createArchivePieceComplementaire). The
    /// letter's type comes from the outbox when the letter was brought back, else from the act's
    /// history: the newest letter received (ActeService: the préfecture's letters are history
    /// events, their files not downloadable through this API). `document` is not used.
    fn reply(&self, target: &super::ReplyTarget, reply: &Reply) -> Result<String, PlatformError> {
        let Some(uuid) = target.act.as_deref() else {
            return Err(PlatformError::Config(t("plateforme.stela_sans_uuid")));
        };
        let kind = match target.kind {
            Some(kind) => kind,
            None => self.newest_letter(uuid)?,
        };
        super::check_reply(kind, reply)?;
        let (action, part) = reply_route(kind, reply.refus).ok_or_else(|| {
            PlatformError::Unsendable(t("plateforme.reponse_impossible_pour_ce_courrier"))
        })?;
        let mut form = vec![Field::FileAs(
            part.into(),
            reply.lettre.clone(),
            stela_file_name(&reply.lettre),
        )];
        // Only `pieces-complementaires` takes several files (`files`); STELA types none of them.
        for (path, _) in &reply.pieces {
            form.push(Field::FileAs(
                part.into(),
                path.clone(),
                stela_file_name(path),
            ));
        }
        let url = self.url(&format!("/editeur/api/acte/{uuid}/{action}"))?;
        let (status, body) = self.checked(self.http.post(url, form, None)?)?;
        match status {
            // `new ResponseEntity(HttpStatus.OK)`: nothing in the body, no reply id.
            200..=299 => Ok(uuid.to_owned()),
            // ActeService.getByUuid's ActeNotFoundException, `@ResponseStatus(NOT_FOUND)`.
            404 => Err(PlatformError::Ko(tf(
                "plateforme.stela_inconnu",
                &[("uuid", uuid)],
            ))),
            _ => Err(PlatformError::Ko(validation_errors(&body))),
        }
    }

    /// The letters the act's history announces (`letters_from_history`): one reading of the
    /// act, as `acte_status` does.
    fn acte_letters(&self, reference: &Reference) -> Result<Vec<ActeLetter>, PlatformError> {
        let Reference::Transaction(uuid) = reference else {
            return Ok(Vec::new());
        };
        let (act, _) = self.acte_record(uuid)?;
        Ok(letters_from_history(&act))
    }

    /// STELA lists its codes matières in its own form, not as an ACTES classification.
    fn classification(&self) -> Result<Vec<u8>, PlatformError> {
        Err(PlatformError::Ko(t("plateforme.stela_sans_classification")))
    }

    fn helios_import(
        &self,
        _pes: &Path,
        _progress: Option<Arc<UploadProgress>>,
    ) -> Result<HeliosImport, PlatformError> {
        Err(no_helios())
    }

    fn helios_status(&self, _id: &str) -> Result<i32, PlatformError> {
        Err(no_helios())
    }

    fn helios_acquit(&self, _id: &str) -> Result<Vec<u8>, PlatformError> {
        Err(no_helios())
    }

    /// The editor API has no listing of the préfecture's documents: they are announced in
    /// each act's history (`acte_letters`).
    fn prefecture_documents(&self) -> Result<Vec<PrefectureDocument>, PlatformError> {
        Ok(Vec::new())
    }

    fn prefecture_document(&self, _id: &str) -> Result<Vec<u8>, PlatformError> {
        Ok(Vec::new())
    }

    fn prefecture_mark_read(&self, _id: &str) -> Result<(), PlatformError> {
        Ok(())
    }
}

fn no_helios() -> PlatformError {
    PlatformError::Ko(t("plateforme.stela_sans_helios"))
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natures_and_codes_are_stela_s() {
        let names: Vec<&str> = (1..=6).map(nature_name).collect();
        assert_eq!(
            names,
            [
                "DELIBERATIONS",
                "ARRETES_REGLEMENTAIRES",
                "ARRETES_INDIVIDUELS",
                "CONTRATS_ET_CONVENTIONS",
                "DOCUMENTS_BUDGETAIRES_ET_FINANCIERS",
                "AUTRES",
            ]
        );
        assert_eq!(material_code("1.1").ok().as_deref(), Some("1-1-0-0-0"));
        assert_eq!(
            material_code("7.1.2.3.4").ok().as_deref(),
            Some("7-1-2-3-4")
        );
        assert!(matches!(
            material_code("7.10"),
            Err(PlatformError::Unsendable(m)) if m.contains("7.10")
        ));
    }

    #[test]
    fn files_go_under_names_stela_matches_and_accepts() {
        let names = |list: &[&str]| {
            let paths: Vec<std::path::PathBuf> =
                list.iter().map(std::path::PathBuf::from).collect();
            let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
            annexe_names(&refs)
        };
        assert_eq!(
            names(&[
                "a/plan d'état.PNG",
                "b/Photo.JPEG",
                "c/plan d'état.png",
                "d/note"
            ]),
            ["plan d__tat.png", "Photo.jpg", "2_plan d__tat.png", "note"]
        );
        assert_eq!(stela_file_name(Path::new("x/ACTE.Pdf")), "ACTE.pdf");
    }

    #[test]
    fn replies_go_to_the_editor_api_s_paths_for_the_newest_letter() {
        assert_eq!(reply_route(2, false), Some(("courrier-simple", "file")));
        assert_eq!(reply_route(2, true), None);
        assert_eq!(
            reply_route(3, false),
            Some(("pieces-complementaires", "files"))
        );
        assert_eq!(
            reply_route(3, true),
            Some(("pieces-complementaires/reject", "file"))
        );
        assert_eq!(reply_route(4, false), Some(("lettre-observation", "file")));
        assert_eq!(
            reply_route(4, true),
            Some(("lettre-observation/reject", "file"))
        );
        assert_eq!(reply_route(5, false), None);
        let act = serde_json::json!({ "acteHistories": [
            event("SENT", "2026-11-29T10:00:03", Some("AR_LETTRE_OBSERVATION")),
            event("COURRIER_SIMPLE_RECEIVED", "2026-11-28T10:00:00", Some("COURRIER_SIMPLE")),
            event("LETTRE_OBSERVATION_RECEIVED", "2026-11-29T10:00:00",
                Some("LETTRE_OBSERVATION")),
            event("ACK_RECEIVED", "2026-11-27T10:05:00", None),
        ]});
        assert_eq!(newest_letter_kind(&act), Some(4));
        let none = serde_json::json!({ "acteHistories": [
            event("ACK_RECEIVED", "2026-11-27T10:05:00", None),
        ]});
        assert_eq!(newest_letter_kind(&none), None);
    }

    #[test]
    fn letters_of_the_history_are_kept_by_their_entry_oldest_first() {
        let act = serde_json::json!({
            "uuid": "a1b2c3d4-0000-4000-8000-000000000001",
            "number": "DEL2026_7",
            "acteHistories": [
                { "uuid": "0b4c2e1a-9f3d-4c1e-8a2b-1234567890ab",
                  "status": "DEFERE_RECEIVED", "date": "2026-12-01T09:30:00",
                  "message": "Incompétence", "fileName": "defere.pdf", "flux": null },
                event("SENT", "2026-11-29T10:00:03", Some("AR_LETTRE_OBSERVATION")),
                { "uuid": "1c2d3e4f-aaaa-4bbb-8ccc-000000000002",
                  "status": "LETTRE_OBSERVATION_RECEIVED", "date": "2026-11-29T10:00:00.125",
                  "message": "La délibération ne vise pas l'avis de la commission.",
                  "fileName": "006-X-4-1_1.pdf", "flux": "LETTRE_OBSERVATION" },
                // An entry without its id (or an id that is not one) is keyed by type and date.
                { "uuid": "../x", "status": "COURRIER_SIMPLE_RECEIVED",
                  "date": "2026-11-28T08:00:00", "flux": "COURRIER_SIMPLE" },
                event("ACK_RECEIVED", "2026-11-27T10:05:00", None),
            ]
        });
        let letters = letters_from_history(&act);
        let keys: Vec<(&str, u8)> = letters.iter().map(|l| (l.key.as_str(), l.kind)).collect();
        assert_eq!(
            keys,
            [
                ("2-20261128080000", 2),
                ("1c2d3e4f-aaaa-4bbb-8ccc-000000000002", 4),
                ("0b4c2e1a-9f3d-4c1e-8a2b-1234567890ab", 5),
            ]
        );
        let observations = &letters[1].note;
        for words in [
            "Lettre d'observations",
            "29/11/2026 à 10:00",
            "DEL2026_7",
            "La délibération ne vise pas l'avis de la commission.",
            "006-X-4-1_1.pdf",
            "a1b2c3d4-0000-4000-8000-000000000001",
            "--courrier 1c2d3e4f-aaaa-4bbb-8ccc-000000000002",
        ] {
            assert!(observations.contains(words), "{words} in {observations}");
        }
        assert!(
            letters[2]
                .note
                .contains(&t("plateforme.stela_courrier_defere"))
        );
        assert!(!letters[2].note.contains("--courrier"));
        assert_eq!(letters_from_history(&serde_json::json!({})), vec![]);
    }

    #[test]
    fn the_siren_is_read_from_the_id_acte() {
        assert_eq!(
            siren_of("006-210600730-20200115-ST2026_1-DE"),
            Some("210600730")
        );
        assert_eq!(siren_of("006--20200115-X-DE"), None);
        assert_eq!(siren_of("sans tiret"), None);
    }

    fn event(status: &str, date: &str, flux: Option<&str>) -> serde_json::Value {
        serde_json::json!({ "status": status, "date": date, "flux": flux })
    }

    #[test]
    fn the_events_present_give_the_status_not_the_newest() {
        let ta = Some("TRANSMISSION_ACTE");
        // After the AR: a notification, a letter and the archive answering it, all newer.
        let acknowledged = serde_json::json!({ "acteHistories": [
            event("SENT", "2026-11-27T10:05:03.5", Some("AR_PIECE_COMPLEMENTAIRE")),
            event("DEMANDE_PIECE_COMPLEMENTAIRE_RECEIVED", "2026-11-27T10:05:02",
                Some("DEMANDE_PIECE_COMPLEMENTAIRE")),
            event("NOTIFICATION_SENT", "2026-11-27T10:05:00.001", None),
            event("ACK_RECEIVED", "2026-11-27T10:05:00", None),
            event("SENT", "2026-11-27T10:01:00", ta),
            event("CREATED", "2026-11-27T10:00:00", ta),
        ]});
        assert_eq!(status_from_history(&acknowledged), Some((4, String::new())));
        let refused = serde_json::json!({ "acteHistories": [
            event("NOTIFICATION_SENT", "2026-11-27T10:05:01", None),
            { "status": "NACK_RECEIVED", "date": "2026-11-27T10:05:00",
              "message": "Archive invalide" },
            event("SENT", "2026-11-27T10:01:00", ta),
            event("CREATED", "2026-11-27T10:00:00", ta),
        ]});
        let (code, detail) = status_from_history(&refused).expect("status");
        assert_eq!(code, -1);
        assert!(detail.contains("Archive invalide"), "{detail}");
        let too_large = serde_json::json!({ "acteHistories": [
            event("ARCHIVE_TOO_LARGE", "2026-11-27T10:00:02", ta),
            event("CREATED", "2026-11-27T10:00:00", ta),
        ]});
        assert_eq!(
            status_from_history(&too_large),
            Some((-1, t("plateforme.stela_anomalie_archive_trop_grande")))
        );
        // Deposited again after the anomaly: the new transmission decides.
        let redeposited = serde_json::json!({ "acteHistories": [
            event("SENT", "2026-11-28T09:00:01", ta),
            event("RECREATED", "2026-11-28T09:00:00", ta),
            event("NOT_SENT", "2026-11-27T10:01:00", ta),
            event("CREATED", "2026-11-27T10:00:00", ta),
        ]});
        assert_eq!(status_from_history(&redeposited).map(|s| s.0), Some(3));
        let cancelled = serde_json::json!({ "acteHistories": [
            event("CANCELLED", "2026-11-29T10:00:00", None),
            event("SENT", "2026-11-28T10:00:00", Some("ANNULATION_TRANSMISSION")),
            event("ACK_RECEIVED", "2026-11-27T10:05:00", None),
        ]});
        assert_eq!(status_from_history(&cancelled).map(|s| s.0), Some(0));
        let empty = serde_json::json!({ "acteHistories": [] });
        assert_eq!(status_from_history(&empty).map(|s| s.0), Some(1));
        assert_eq!(status_from_history(&serde_json::json!({})), None);
    }
}
