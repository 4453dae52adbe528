//! The sandbox's STELA editor API (`/editeur/api/acte…`): the same acts as its S²LOW face, with
//! STELA's fields, its validation (400 with the errors), its 409 for a number already used, its
//! 401 for a certificate paired with no collectivité, its list of every collectivité's acts and
//! drafts by pages, and each act's history of events. Each behaviour names the function of
//! STELA's code (SICTIAM/stela, `acte-service`, last commit April 2019) it imitates.

use super::store::{Inserted, Store, StoredActe};
use super::{Ctx, Form, acknowledge_if_due, draw, html_error, json, now_ms};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use std::collections::HashMap;

/// Whether STELA pairs the client certificate (its common name) with a collectivité: as
/// ExternalRestService.getLocalAuthorityByCertificate asks the admin service, here from the
/// setting `stela_certificats_enregistres` (empty: every certificate is paired).
pub(crate) fn paired(ctx: &Ctx, subject: &str) -> bool {
    let registered = &ctx.settings.stela_certificats_enregistres;
    registered.is_empty() || registered.iter().any(|cn| cn == subject)
}

/// STELA's answer to a certificate paired with no collectivité: CertificateInterceptor.preHandle
/// (on `/editeur/**`) throws CertificateAuthenticationFailedException, whose
/// `@ResponseStatus(UNAUTHORIZED)` Spring renders as its error document.
pub(crate) fn unauthorized(path: &str) -> Response<Full<Bytes>> {
    status(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({
            "timestamp": now_ms(),
            "status": 401,
            "error": "Unauthorized",
            "message": "Authentication failed",
            "path": path,
        }),
    )
}

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

/// A validation error as Spring serialises a `FieldError` inside STELA's CustomValidationUI.
fn field_error(field: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "objectName": "acte", "field": field, "defaultMessage": message })
}

/// STELA's CustomValidationUI (`model/ui/CustomValidationUI.java`): the errors and a word.
fn validation_answer(
    code: StatusCode,
    errors: Vec<serde_json::Value>,
    message: &str,
) -> Response<Full<Bytes>> {
    status(
        code,
        serde_json::json!({
            "timestamp": now_ms(),
            "status": code.as_u16(),
            "error": code.canonical_reason().unwrap_or_default(),
            "errors": errors,
            "message": message,
        }),
    )
}

/// Whether `name` ends with one of `extensions`, compared as commons-io's
/// FilenameUtils.isExtension does: the text after the last dot, case-sensitive.
fn has_extension(name: &str, extensions: &[&str]) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| extensions.contains(&ext))
}

/// ValidationService.getTypeForAnnexe and ActeService.getCodeForAnnexeFilename: the first
/// `annexeTypes` entry `name:CODE` whose name (all before the last colon, as the greedy
/// `(.*):(.*)` takes it) is exactly the part's original file name.
fn type_for_annexe<'a>(file_name: &str, types: &'a [String]) -> Option<&'a str> {
    types.iter().find_map(|t| {
        let (name, code) = t.rsplit_once(':')?;
        (name == file_name).then_some(code)
    })
}

pub(crate) fn create(ctx: &Ctx, account: i64, form: Form) -> Response<Full<Bytes>> {
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
    // `@DateTimeFormat(pattern = "yyyy-MM-dd") LocalDate decision`: the same kind of 400.
    let date = form.text("decision");
    if time::Date::parse(
        &date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .is_err()
    {
        return status(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "status": 400,
                "error": "Bad Request",
                "message": format!("Failed to convert value '{date}' to required type 'java.time.LocalDate'"),
                "path": "/editeur/api/acte",
            }),
        );
    }
    // ValidationService.validateActeParams: the annotations of ActeParams, then the files by
    // their original names.
    let mut errors = Vec::new();
    let numero = form.text("number");
    if numero.chars().count() > 15 {
        errors.push(field_error("number", "size must be between 0 and 15"));
    }
    if numero.is_empty()
        || !numero
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        errors.push(field_error("number", "must match \"^[A-Z0-9_]+$\""));
    }
    let objet = form.text("objet");
    if objet.chars().count() > 500 {
        errors.push(field_error("objet", "size must be between 0 and 500"));
    }
    let code = form.text("code");
    let code_ok = code.len() == 9
        && code.bytes().enumerate().all(|(i, b)| {
            if i % 2 == 0 {
                b.is_ascii_digit()
            } else {
                b == b'-'
            }
        });
    if !code_ok {
        errors.push(field_error(
            "code",
            "must match \"^[0-9]-[0-9]-[0-9]-[0-9]-[0-9]$\"",
        ));
    }
    let matieres: Vec<String> = code
        .split('-')
        .filter(|l| !l.is_empty() && *l != "0")
        .map(str::to_owned)
        .collect();
    if form.text("fileType").is_empty() {
        errors.push(field_error("fileType", "must not be blank"));
    }
    // ValidationService.validateFile: the extension of the original name, case-sensitive; a
    // budget document is a (sealed) XML with pdf/jpg/png annexes — the seal is not checked
    // here.
    let budget = nature == 5;
    let acte_extensions: &[&str] = if budget {
        &["xml"]
    } else {
        &["pdf", "jpg", "png"]
    };
    let annexe_extensions: &[&str] = if budget {
        &["pdf", "jpg", "png"]
    } else {
        &["pdf", "jpg", "png", "xml"]
    };
    let file = form.files("file").next();
    match file {
        None => errors.push(field_error("file", "must not be null")),
        Some((_, name, _)) if !has_extension(name, acte_extensions) => {
            errors.push(field_error("file", "form.validation.badextension"))
        }
        Some(_) => {}
    }
    let types = form.texts("annexeTypes");
    let mut names = Vec::new();
    if let Some(f) = file {
        names.push(f.1.clone());
    }
    for (_, name, _) in form.files("annexes") {
        if type_for_annexe(name, &types).is_none() {
            errors.push(field_error(
                "annexeType",
                &format!("Missing file type for {name}"),
            ));
        }
        if !has_extension(name, annexe_extensions) {
            errors.push(field_error("annexes", "form.validation.badextension"));
        }
        names.push(name.clone());
    }
    if !errors.is_empty() {
        return validation_answer(StatusCode::BAD_REQUEST, errors, "has failed");
    }
    if draw(ctx.settings.pannes.ko) {
        return validation_answer(
            StatusCode::BAD_REQUEST,
            vec![field_error("file", "Panne simulée par le bac à sable")],
            "has failed",
        );
    }
    let unique_id = super::replies::id_acte(
        &ctx.settings.departement,
        &ctx.settings.siren,
        &date,
        &numero,
        nature,
    );
    // EditeurRestController.create then answers 409 when ActeService.numberExist finds the
    // number in the collectivité, among its acts and its drafts, whatever their year or
    // nature (ActeRepository.findByNumberAndLocalAuthorityUuid).
    let conflict = || {
        validation_answer(
            StatusCode::CONFLICT,
            vec![field_error(
                "number",
                &format!("Number {numero} already exists"),
            )],
            "conflict",
        )
    };
    if ctx.settings.stela_brouillons.contains(&numero) {
        return conflict();
    }
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
        Ok(Inserted::Existing(_)) => conflict(),
        Err(_) => html_error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// A moment as STELA writes it: a `LocalDateTime` through its LocalDateTimeSerializer
/// (`config/LocalDateTimeSerializer.java`, ISO_LOCAL_DATE_TIME), here to the millisecond.
fn stela_time(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// One `ActeHistory` (`model/ActeHistory.java`): status, date, flux (absent for what the
/// préfecture's answers and the notifications record), message, file name — the file itself is
/// `@JsonIgnore`d, and its uuid is derived when the act is written out (`history_uuid`).
struct Event {
    status: &'static str,
    ms: i64,
    flux: Option<&'static str>,
    message: Option<String>,
    file_name: Option<String>,
}

fn event(status: &'static str, ms: i64, flux: Option<&'static str>) -> Event {
    Event {
        status,
        ms,
        flux,
        message: None,
        file_name: None,
    }
}

const TRANSMISSION: Option<&str> = Some("TRANSMISSION_ACTE");

/// The events STELA records for an act, as its services write them one after the other; only
/// those whose moment has come are shown (STELA's tasks add them as they run: the history right
/// after the creation may be empty).
/// `store`: where the act's letters and cancellation are (none for a neighbour's act);
/// `siren`: its collectivité's.
fn events(ctx: &Ctx, store: Option<&Store>, acte: &StoredActe, siren: &str) -> Vec<Event> {
    let t0 = acte.recu_ms;
    let due = t0 + (ctx.settings.delai_ar_secondes * 1000.0) as i64;
    // ArchiveService.createArchive and getArchiveName: `SIC-EACT--{SIREN}--{date}-{n}.tar.gz`.
    let day = stela_time(t0)
        .get(..10)
        .unwrap_or_default()
        .replace('-', "");
    let archive = format!("SIC-EACT--{siren}--{day}-{}.tar.gz", acte.id);
    let with_file = |mut e: Event, name: &str| {
        e.file_name = Some(name.to_owned());
        e
    };
    let mut events = vec![
        // ActeService.publishActe.
        event("CREATED", t0, TRANSMISSION),
        // ArchiveService.onApplicationEvent: checkAntivirus, then createArchive, then
        // checkArchiveSize, each on the event before.
        event("ANTIVIRUS_OK", t0 + 1, TRANSMISSION),
        with_file(event("ARCHIVE_CREATED", t0 + 2, TRANSMISSION), &archive),
        with_file(
            event("ARCHIVE_SIZE_CHECKED", t0 + 3, TRANSMISSION),
            &archive,
        ),
        // SenderTask.senderTask (every 10 s in STELA) then ActeService.sent: here halfway to
        // the AR.
        event("SENT", t0 + (due - t0) / 2, TRANSMISSION),
    ];
    let mut last = due;
    match acte.statut {
        4 => {
            // RetourPrefectureService.receiveARActe records the AR without a flux;
            // NotificationService.proccessEvent then mails it (ACK_RECEIVED cannot be turned
            // off) and records NOTIFICATION_SENT.
            let ar = format!("{}-1-2_0.xml", acte.unique_id);
            events.push(with_file(event("ACK_RECEIVED", due, None), &ar));
            events.push(event("NOTIFICATION_SENT", due + 1, None));
            last = due + 1;
            // The préfecture's letters. EmailCheckingTask.check reads each ACTES message and
            // hands RetourPrefectureService the PDF its `Document/NomFichier` names; the
            // service records it in the history (the file itself is `@JsonIgnore` in
            // ActeHistory: the JSON gives its name only) with the message's words —
            // receiveDemandePieceComplementaire the DescriptionPieces,
            // receiveLettreObservations the Motif, receiveDefere the NatureIllegalite and no
            // flux, receiveCourrierSimple none. For a demande or a lettre d'observations,
            // ArchiveService.onApplicationEvent builds the AR that SenderTask sends in its
            // own flux. The words are those of the sandbox's S²LOW archive
            // (replies::prefecture_document), so that both faces tell the same letter.
            let letters = store.and_then(|s| s.documents_of_acte(acte.id).ok());
            for (n, (id, genre)) in letters.unwrap_or_default().into_iter().enumerate() {
                let at = due + 10 * (n as i64 + 1);
                let (status, letter_flux, code, message, ar_flux) = match genre {
                    3 => (
                        "DEMANDE_PIECE_COMPLEMENTAIRE_RECEIVED",
                        Some("DEMANDE_PIECE_COMPLEMENTAIRE"),
                        "3-1",
                        Some("Veuillez transmettre l'annexe budgétaire."),
                        Some("AR_PIECE_COMPLEMENTAIRE"),
                    ),
                    4 => (
                        "LETTRE_OBSERVATION_RECEIVED",
                        Some("LETTRE_OBSERVATION"),
                        "4-1",
                        Some("La délibération ne vise pas l'avis de la commission."),
                        Some("AR_LETTRE_OBSERVATION"),
                    ),
                    5 => (
                        "DEFERE_RECEIVED",
                        None,
                        "5-1",
                        Some("Incompétence de l'auteur de l'acte."),
                        None,
                    ),
                    _ => (
                        "COURRIER_SIMPLE_RECEIVED",
                        Some("COURRIER_SIMPLE"),
                        "2-1",
                        None,
                        None,
                    ),
                };
                let pdf = format!("{}-{code}_1.pdf", acte.unique_id);
                let mut received = with_file(event(status, at, letter_flux), &pdf);
                received.message = message.map(str::to_owned);
                events.push(received);
                last = at;
                if let Some(ar_flux) = ar_flux {
                    let flux = Some(ar_flux);
                    let reply = format!("SIC-EACT--{siren}--{day}-{}-{id}.tar.gz", acte.id);
                    events.push(with_file(event("ARCHIVE_CREATED", at + 1, flux), &reply));
                    events.push(with_file(
                        event("ARCHIVE_SIZE_CHECKED", at + 2, flux),
                        &reply,
                    ));
                    events.push(event("SENT", at + 3, flux));
                    last = at + 3;
                }
            }
        }
        -1 => {
            // RetourPrefectureService.receiveAnomalieActe: the préfecture's words, no flux.
            let mut nack = event("NACK_RECEIVED", due, None);
            nack.message = acte.ar.clone();
            events.push(nack);
        }
        _ => {}
    }
    // The collectivité's replies: ActeService.registerAdditionalPieces records the request (the
    // file's name when there is one file) in the reply's flux, then ArchiveService's
    // checkEventAntivirus, createMessageArchiveWithAttachment (or createArchivePieceComplementaire)
    // and checkArchiveSize, and SenderTask, each in that same flux.
    let replies = store.and_then(|s| s.stela_replies_of_acte(acte.id).ok());
    for (action, files, at) in replies.unwrap_or_default() {
        let Some((status, flux)) = REPLY_EVENTS
            .iter()
            .find(|(a, _, _)| *a == action)
            .map(|(_, status, flux)| (*status, Some(*flux)))
        else {
            continue;
        };
        let mut asked = event(status, at, flux);
        if let [one] = files.as_slice() {
            asked.file_name = Some(one.clone());
        }
        events.push(asked);
        let archive = format!("SIC-EACT--{siren}--{day}-{}-r{at}.tar.gz", acte.id);
        events.push(event("ANTIVIRUS_OK", at + 1, flux));
        events.push(with_file(event("ARCHIVE_CREATED", at + 2, flux), &archive));
        events.push(with_file(
            event("ARCHIVE_SIZE_CHECKED", at + 3, flux),
            &archive,
        ));
        events.push(event("SENT", at + 4, flux));
        last = last.max(at + 4);
    }
    if store.is_some_and(|s| s.is_cancelled(acte.id).unwrap_or(false)) {
        // ActeService.cancel, ArchiveService.createMessageArchive and SenderTask in the
        // cancellation's flux, then RetourPrefectureService.receiveARAnnulation (no flux): the
        // sandbox's préfecture answers at once.
        let flux = Some("ANNULATION_TRANSMISSION");
        let at = last + 1;
        events.push(event("CANCELLATION_ASKED", at, flux));
        events.push(event("ARCHIVE_CREATED", at + 1, flux));
        events.push(event("ARCHIVE_SIZE_CHECKED", at + 2, flux));
        events.push(event("SENT", at + 3, flux));
        events.push(event("CANCELLED", at + 4, None));
    }
    let now = now_ms();
    events.retain(|e| e.ms <= now);
    events
}

/// The `uuid` of a history entry: ActeHistory's `@Id @GeneratedValue(generator = "UUID")`,
/// drawn once by Hibernate when the entry is saved and the same at every reading — which is
/// what lets a client keep each letter once. The sandbox rebuilds its events at every reading,
/// so it derives the id from what makes the entry: the act, the status and the moment.
fn history_uuid(acte_uuid: &str, e: &Event) -> String {
    let digest = openssl::sha::sha256(format!("{acte_uuid}/{}/{}", e.status, e.ms).as_bytes());
    let hex = hex::encode(&digest[..16]);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// An act as EditeurRestController.getByUuid and getActeList give it: the `Acte` entity
/// (`model/Acte.java`) with its collectivité and its history, newest event first (the entity's
/// `@OrderBy("date DESC")`, ActeHistory.compareTo).
fn act_json(
    ctx: &Ctx,
    store: Option<&Store>,
    acte: &StoredActe,
    uuid: &str,
    authority: &serde_json::Value,
) -> serde_json::Value {
    let siren = authority["siren"].as_str().unwrap_or_default();
    let mut events = events(ctx, store, acte, siren);
    events.sort_by_key(|e| std::cmp::Reverse(e.ms));
    // ActeService.onApplicationEvent: the last event but the notifications.
    let last = events
        .iter()
        .find(|e| !matches!(e.status, "NOTIFICATION_SENT" | "GROUP_NOTIFICATION_SENT"));
    let histories: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "uuid": history_uuid(uuid, e),
                "acteUuid": uuid,
                "status": e.status,
                "date": stela_time(e.ms),
                "message": e.message,
                "fileName": e.file_name,
                "flux": e.flux,
            })
        })
        .collect();
    let attachment = |name: &String| serde_json::json!({ "filename": name });
    serde_json::json!({
        "uuid": uuid,
        "number": acte.numero,
        "creation": stela_time(acte.recu_ms),
        "decision": acte.date_decision,
        "nature": nature_name(acte.nature),
        "code": stela_code(&acte.matieres),
        "objet": acte.objet,
        "public": false,
        "publicWebsite": false,
        "acteAttachment": acte.fichiers.first().map(attachment),
        "annexes": acte.fichiers.iter().skip(1).map(attachment).collect::<Vec<_>>(),
        "acteHistories": histories,
        "localAuthority": authority,
        "draft": null,
        "miatId": acte.unique_id,
        "lastHistoryStatus": last.map(|e| e.status),
        "lastHistoryDate": last.map(|e| stela_time(e.ms)),
        "lastHistoryFlux": last.and_then(|e| e.flux),
    })
}

/// The collectivité an account's certificate is paired with (`model/LocalAuthority.java`).
fn local_authority(ctx: &Ctx, account: i64) -> serde_json::Value {
    serde_json::json!({
        "uuid": format!("00000000-0000-4000-b000-{account:012}"),
        "name": "Collectivité du bac à sable",
        "siren": ctx.settings.siren,
        "department": ctx.settings.departement,
    })
}

/// The matière as STELA keeps it: five levels joined by `-`.
fn stela_code(matieres: &[String]) -> String {
    let mut levels: Vec<&str> = matieres.iter().map(String::as_str).collect();
    levels.resize(5, "0");
    levels.join("-")
}

/// A neighbouring collectivité's (`stela_voisins_par_acte`): another SIREN, derived from the
/// sandbox's so that it differs.
fn neighbour_authority(ctx: &Ctx) -> serde_json::Value {
    let mut siren: Vec<u8> = ctx.settings.siren.bytes().collect();
    if let Some(first) = siren.first_mut() {
        *first = if *first == b'9' {
            b'1'
        } else {
            first.saturating_add(1)
        };
    }
    serde_json::json!({
        "uuid": "00000000-0000-4000-c000-000000000001",
        "name": "Commune voisine",
        "siren": String::from_utf8_lossy(&siren),
        "department": ctx.settings.departement,
    })
}

fn neighbour_uuid(acte: i64, k: u32) -> String {
    format!("00000000-0000-4000-9000-{acte:06}{k:06}")
}

fn neighbour_of(uuid: &str) -> Option<(i64, u32)> {
    let rest = uuid.strip_prefix("00000000-0000-4000-9000-")?;
    if rest.len() != 12 {
        return None;
    }
    Some((rest.get(..6)?.parse().ok()?, rest.get(6..)?.parse().ok()?))
}

/// The neighbour's act `k` (1 to `stela_voisins_par_acte`) deposited with `acte`: the first
/// under the same number, decision date and nature — only the collectivité tells them apart —
/// the others under numbers of their own; acknowledged as the sandbox acknowledges.
fn neighbour_act(ctx: &Ctx, acte: &StoredActe, k: u32) -> StoredActe {
    let mut theirs = acte.clone();
    theirs.recu_ms = acte.recu_ms + i64::from(k);
    if k > 1 {
        theirs.numero = format!("V{}_{k}", acte.id);
    }
    let due = theirs.recu_ms + (ctx.settings.delai_ar_secondes * 1000.0) as i64;
    theirs.statut = if now_ms() >= due { 4 } else { 1 };
    theirs.ar = None;
    theirs
}

/// A draft as the list gives it: an `Acte` whose `draft` is set (DraftService.newDraft), no
/// history.
fn draft_json(
    uuid: &str,
    numero: &str,
    creation_ms: i64,
    decision: Option<&str>,
    nature: u8,
    authority: &serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "uuid": uuid,
        "number": numero,
        "creation": stela_time(creation_ms),
        "decision": decision,
        "nature": nature_name(nature),
        "objet": "",
        "acteHistories": [],
        "localAuthority": authority,
        "draft": {
            "uuid": uuid,
            "lastModified": stela_time(creation_ms),
            "mode": "ACTE",
            "localAuthorityUuid": authority["uuid"],
        },
    })
}

/// `GET /editeur/api/acte?limit=&offset=&direction=`: EditeurRestController.getActeList →
/// ActeService.getAllFull, which takes the caller's collectivité and never uses it: every
/// collectivité's acts and the drafts, by creation (newest first unless `direction=ASC`),
/// `limit` 25 and `offset` 0 by default.
pub(crate) fn list(ctx: &Ctx, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let (limit, offset) = (number("limit", 25), number("offset", 0));
    let ascending = query.get("direction").is_some_and(|d| d == "ASC");
    let Ok(store) = ctx.store.lock() else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let Ok(actes) = store.every_acte() else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let neighbour = neighbour_authority(ctx);
    let voisins = ctx.settings.stela_voisins_par_acte;
    // (creation, what to show): built lazily, only the page is rendered.
    enum Entry<'a> {
        Own(i64, &'a StoredActe),
        Neighbour(&'a StoredActe, u32),
        NeighbourDraft(&'a StoredActe),
        Draft(usize),
    }
    let mut entries: Vec<(i64, Entry)> = Vec::new();
    for (account, acte) in &actes {
        entries.push((acte.recu_ms, Entry::Own(*account, acte)));
        if voisins > 0 {
            for k in 1..=voisins {
                entries.push((acte.recu_ms + i64::from(k), Entry::Neighbour(acte, k)));
            }
            entries.push((
                acte.recu_ms + i64::from(voisins) + 1,
                Entry::NeighbourDraft(acte),
            ));
        }
    }
    for i in 0..ctx.settings.stela_brouillons.len() {
        entries.push((ctx.started_ms, Entry::Draft(i)));
    }
    entries.sort_by_key(|(creation, _)| *creation);
    if !ascending {
        entries.reverse();
    }
    let page: Vec<serde_json::Value> = entries
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(creation, entry)| match entry {
            Entry::Own(account, acte) => act_json(
                ctx,
                Some(&store),
                acte,
                &uuid_of(acte.id),
                &local_authority(ctx, *account),
            ),
            Entry::Neighbour(acte, k) => act_json(
                ctx,
                None,
                &neighbour_act(ctx, acte, *k),
                &neighbour_uuid(acte.id, *k),
                &neighbour,
            ),
            Entry::NeighbourDraft(acte) => draft_json(
                &neighbour_uuid(acte.id, 0),
                &acte.numero,
                *creation,
                Some(&acte.date_decision),
                acte.nature,
                &neighbour,
            ),
            Entry::Draft(i) => draft_json(
                &format!("00000000-0000-4000-a000-{i:012}"),
                &ctx.settings.stela_brouillons[*i],
                *creation,
                None,
                1,
                &local_authority(ctx, 1),
            ),
        })
        .collect();
    json(&serde_json::Value::Array(page))
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
    // ActeService.getByUuid (findByUuidAndDraftNull) looks the act up whatever its
    // collectivité: a neighbour's act is read as well; a draft is not found.
    if let Some((acte_id, k)) = neighbour_of(uuid).filter(|(_, k)| {
        (1..=ctx.settings.stela_voisins_par_acte).contains(k)
            && method == "GET"
            && action.is_empty()
    }) {
        return match store.acte_by_id(acte_id) {
            Ok(Some((_, acte))) => json(&act_json(
                ctx,
                None,
                &neighbour_act(ctx, &acte, k),
                uuid,
                &neighbour_authority(ctx),
            )),
            _ => html_error(StatusCode::NOT_FOUND),
        };
    }
    // The account's own acts only beyond that: STELA's cancel does not check the collectivité
    // either, a gap the sandbox does not reproduce.
    let found = id_of(uuid).and_then(|id| store.find_acte(account, Some(id), None).ok().flatten());
    let Some(acte) = found else {
        return html_error(StatusCode::NOT_FOUND);
    };
    let Ok(acte) = acknowledge_if_due(ctx, &mut store, account, acte) else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    match (method, action) {
        ("GET", "") => json(&act_json(
            ctx,
            Some(&store),
            &acte,
            uuid,
            &local_authority(ctx, account),
        )),
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

/// The replies to the préfecture of EditeurRestController (`POST /editeur/api/acte/{uuid}/…`):
/// each path and the multipart part it binds with `@RequestParam` — `files` (several) for
/// sendPiecesComplementaires, `file` for the others.
const REPLIES: [(&str, &str); 5] = [
    ("courrier-simple", "file"),
    ("pieces-complementaires", "files"),
    ("pieces-complementaires/reject", "file"),
    ("lettre-observation", "file"),
    ("lettre-observation/reject", "file"),
];

/// What ActeService.sendReponseCourrierSimple, sendReponsePiecesComplementaires and
/// sendReponseLettreObservation record for each reply path: the status and the flux (`model/Flux`,
/// STELA's own spellings, OBSEVATION included).
const REPLY_EVENTS: [(&str, &str, &str); 5] = [
    (
        "courrier-simple",
        "REPONSE_COURRIER_SIMPLE_ASKED",
        "REPONSE_COURRIER_SIMPLE",
    ),
    (
        "pieces-complementaires",
        "PIECE_COMPLEMENTAIRE_ASKED",
        "TRANSMISSION_PIECES_COMPLEMENTAIRES",
    ),
    (
        "pieces-complementaires/reject",
        "REFUS_PIECES_COMPLEMENTAIRE_ASKED",
        "REFUS_EXPLICITE_TRANSMISSION_PIECES_COMPLEMENTAIRES",
    ),
    (
        "lettre-observation",
        "REPONSE_LETTRE_OBSEVATION_ASKED",
        "REPONSE_LETTRE_OBSEVATION",
    ),
    (
        "lettre-observation/reject",
        "REJET_LETTRE_OBSERVATION_ASKED",
        "REFUS_EXPLICITE_LETTRE_OBSERVATION",
    ),
];

/// `/editeur/api/acte/{uuid}/{action}` when `action` is one of the replies: (uuid, action, part).
pub(crate) fn reply_action(path: &str) -> Option<(&str, &'static str, &'static str)> {
    let (uuid, action) = path.strip_prefix("/editeur/api/acte/")?.split_once('/')?;
    let (action, part) = REPLIES.iter().find(|(a, _)| *a == action)?;
    Some((uuid, action, part))
}

/// A reply to the préfecture, as EditeurRestController.sendCourrierSimple,
/// sendPiecesComplementaires, refusPiecesComplementaires, sendReponseObservations and
/// sendRefusObservations take it: the required part missing is Spring's 400
/// (MissingServletRequestPartException) before the method runs; then ActeService.getByUuid
/// (findByUuidAndDraftNull) answers 404 for an act it does not have (ActeNotFoundException,
/// `@ResponseStatus(NOT_FOUND)`); else registerAdditionalPieces records the event and the
/// controller answers 200 with no body. Nothing checks that a letter came, nor the act's state,
/// nor the files' types (the archive is built later, ArchiveService.onApplicationEvent). The
/// sandbox records what arrived (Store::stela_replies).
pub(crate) fn reply(ctx: &Ctx, account: i64, path: &str, form: Form) -> Response<Full<Bytes>> {
    let Some((uuid, action, part)) = reply_action(path) else {
        return html_error(StatusCode::NOT_FOUND);
    };
    let names: Vec<String> = form.files(part).map(|(_, name, _)| name.clone()).collect();
    if names.is_empty() {
        return status(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "timestamp": now_ms(),
                "status": 400,
                "error": "Bad Request",
                "message": format!("Required request part '{part}' is not present"),
                "path": path,
            }),
        );
    }
    // `@RequestParam("file") MultipartFile file` binds the first part of that name.
    let names = if part == "file" {
        names.into_iter().take(1).collect()
    } else {
        names
    };
    let Ok(mut store) = ctx.store.lock() else {
        return html_error(StatusCode::INTERNAL_SERVER_ERROR);
    };
    // The account's own acts only, as `one` reads them (STELA does not check the collectivité).
    let found = id_of(uuid).and_then(|id| store.find_acte(account, Some(id), None).ok().flatten());
    let Some(acte) = found else {
        return html_error(StatusCode::NOT_FOUND);
    };
    match store.add_stela_reply(account, acte.id, action, &names, now_ms()) {
        Ok(()) => Response::builder()
            .status(StatusCode::OK)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default(),
        Err(_) => html_error(StatusCode::INTERNAL_SERVER_ERROR),
    }
}
