//! Client of the S²LOW API (reference notes `platform-s2low-api.md`): connection test, ACTES
//! create / status, Hélios import / status / PES_Acquit. Answers are read strictly: `OK`/`KO`
//! lines or XML, in ISO-8859-1; anything else (an HTML error page, a cut answer) is an error whose
//! outcome is unknown, never a success.

use super::http::{Field, Http};
use super::tls::SharedCardKey;
use super::{Platform, PlatformError};
use crate::messages::tf;
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use zeroize::Zeroizing;

/// KO text of S²LOW when the numéro interne is already used (its duplicate rule).
pub const KO_NUMERO_EXISTANT: &str =
    "Un acte portant le même numéro interne existe déjà dans la base de données.";
/// Message of the Hélios import for a file already posted (SHA-1 duplicate).
pub const HELIOS_DOUBLON: &str = "doublon détecté. Ce fichier a déjà été posté";

/// What is posted to `actes_transac_create.php` besides the files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ActeFields {
    pub nature_code: u8,
    pub numero: String,
    pub objet: String,
    /// `AAAA-MM-JJ`.
    pub date_decision: String,
    /// Classification `1.2.3`.
    pub matiere: String,
    /// Typologie of the act file (5 characters).
    pub type_acte: String,
    /// Typologie of each annexe, in order.
    pub types_annexes: Vec<String>,
    pub document_papier: bool,
}

/// How an item is known to the platform: the transaction id it gave, or the ACTES identifier
/// (`IDActe`, known in advance) when the transaction was found by reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Transaction(String),
    UniqueId(String),
}

impl Reference {
    /// Stored form in the outbox (`id_plateforme`).
    pub fn stored(&self) -> String {
        match self {
            Reference::Transaction(id) => id.clone(),
            Reference::UniqueId(id) => format!("unique_id:{id}"),
        }
    }

    pub fn parse(stored: &str) -> Reference {
        match stored.strip_prefix("unique_id:") {
            Some(id) => Reference::UniqueId(id.to_owned()),
            None => Reference::Transaction(stored.to_owned()),
        }
    }
}

/// ACTES status (`ActesStatusSQL`) with what follows it in the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActeStatus {
    pub code: i32,
    /// For 4: the ARActe XML; for -1: the error text.
    pub detail: String,
}

/// Result of a Hélios import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeliosImport {
    pub id: String,
    /// The platform said it already had this file and named its transaction.
    pub duplicate: bool,
}

/// A document from the préfecture (courrier simple, demande de pièces, lettre d'observations,
/// déféré) not yet read, as `list_document_prefecture.php` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefectureDocument {
    pub id: String,
    /// 2 courrier simple, 3 pièces complémentaires, 4 lettre d'observations, 5 déféré.
    pub kind: u8,
    pub unique_id: String,
    pub numero: String,
    pub related_transaction_id: String,
}

/// An answer to a préfecture document: the letter (with its typologie) and, when sending
/// pièces complémentaires, the pieces with theirs.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Refuse to send the pièces complémentaires (`type_envoie` 3) instead of sending (4).
    pub refus: bool,
    pub lettre: std::path::PathBuf,
    pub type_lettre: String,
    pub pieces: Vec<(std::path::PathBuf, String)>,
}

/// Bytes sent so far / total, for progress bars (read from any thread).
#[derive(Debug, Default)]
pub struct UploadProgress {
    pub sent: AtomicU64,
    pub total: AtomicU64,
}

pub struct S2low {
    base: url::Url,
    http: Http,
}

impl S2low {
    /// A client for the platform at `address`, trusting `ca` (or the system store), authenticated
    /// with the card `key`.
    pub fn new(
        address: &str,
        ca: Option<&Path>,
        key: Option<SharedCardKey>,
        timeout: Duration,
    ) -> Result<S2low, PlatformError> {
        Ok(S2low {
            base: https_base(address)?,
            http: Http::new(ca, key, timeout)?,
        })
    }

    /// HTTP login in addition to the certificate (accounts that require one).
    pub fn with_login(mut self, user: String, password: Zeroizing<String>) -> S2low {
        self.http.set_login(user, password);
        self
    }

    fn url(&self, path: &str) -> Result<url::Url, PlatformError> {
        super::http::join(&self.base, path)
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, PlatformError> {
        let mut url = self.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        success_body(self.http.get(url)?)
    }

    fn post(
        &self,
        path: &str,
        fields: Vec<Field>,
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<Vec<u8>, PlatformError> {
        success_body(self.http.post(self.url(path)?, fields, progress)?)
    }

    /// `GET /api/test-connexion.php`: the body must start with `OK`.
    pub fn test_connection(&self) -> Result<String, PlatformError> {
        let body = latin1(&self.get("/api/test-connexion.php", &[])?);
        ok_lines(&body).map(|lines| lines.join("\n").trim().to_owned())
    }
}

impl Platform for S2low {
    /// Create an act transaction; returns the transaction id.
    fn acte_create(
        &self,
        fields: &ActeFields,
        acte: &Path,
        annexes: &[&Path],
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<String, PlatformError> {
        let text = Field::text;
        let mut fields_out = vec![
            text("api", "1"),
            text("nature_code", &fields.nature_code.to_string()),
            text("number", &fields.numero),
            Field::Text("subject".into(), to_latin1(&fields.objet)?),
            text("decision_date", &fields.date_decision),
            text(
                "document_papier",
                if fields.document_papier { "1" } else { "0" },
            ),
            text("type_acte", &fields.type_acte),
        ];
        for (i, level) in fields.matiere.split('.').take(5).enumerate() {
            fields_out.push(text(&format!("classif{}", i + 1), level));
        }
        fields_out.push(Field::File("acte_pdf_file".into(), acte.to_owned()));
        for (path, typologie) in annexes.iter().zip(&fields.types_annexes) {
            fields_out.push(Field::File("acte_attachments[]".into(), path.to_path_buf()));
            fields_out.push(text("type_pj[]", typologie));
        }
        let body = latin1(&self.post(
            "/modules/actes/actes_transac_create.php",
            fields_out,
            progress,
        )?);
        match ok_lines(&body) {
            Ok(lines) => lines
                .first()
                .map(|l| l.trim().to_owned())
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| PlatformError::Unknown(excerpt(&body))),
            Err(PlatformError::Ko(text)) if text.contains(KO_NUMERO_EXISTANT) => {
                Err(PlatformError::Duplicate(text))
            }
            Err(e) => Err(e),
        }
    }

    /// `actes_transac_get_status.php` by transaction id or by IDActe.
    fn acte_status(&self, reference: &Reference) -> Result<ActeStatus, PlatformError> {
        let query = match reference {
            Reference::Transaction(id) => ("transaction", id.as_str()),
            Reference::UniqueId(id) => ("unique_id", id.as_str()),
        };
        let body = latin1(&self.get("/modules/actes/actes_transac_get_status.php", &[query])?);
        let lines = ok_lines(&body)?;
        let code = lines
            .first()
            .and_then(|l| l.trim().parse::<i32>().ok())
            .ok_or_else(|| PlatformError::Unknown(excerpt(&body)))?;
        Ok(ActeStatus {
            code,
            detail: lines[1..].join("\n").trim().to_owned(),
        })
    }

    /// S²LOW finds an act by its IDActe (`unique_id`).
    fn acte_find(&self, id_acte: &str, _numero: &str) -> Result<Option<Reference>, PlatformError> {
        let reference = Reference::UniqueId(id_acte.to_owned());
        match self.acte_status(&reference) {
            Ok(_) => Ok(Some(reference)),
            Err(PlatformError::Ko(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `actes_transac_reponse_create.php`.
    fn reply(&self, document: &str, reply: &Reply) -> Result<String, PlatformError> {
        let text = Field::text;
        let mut fields = vec![
            text("api", "1"),
            text("id", document),
            text("type_envoie", if reply.refus { "3" } else { "4" }),
            text("type_acte", &reply.type_lettre),
            Field::File("acte_pdf_file".into(), reply.lettre.clone()),
        ];
        for (path, typologie) in &reply.pieces {
            fields.push(Field::File("acte_attachments[]".into(), path.clone()));
            fields.push(text("type_pj[]", typologie));
        }
        let body = latin1(&self.post(
            "/modules/actes/actes_transac_reponse_create.php",
            fields,
            None,
        )?);
        ok_lines(&body)?
            .first()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| PlatformError::Unknown(excerpt(&body)))
    }

    /// `actes_classification_fetch.php`: the raw XML (a body starting `KO` is an error).
    fn classification(&self) -> Result<Vec<u8>, PlatformError> {
        let body = self.get(
            "/modules/actes/actes_classification_fetch.php",
            &[("api", "1")],
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&latin1(&body))));
        }
        Ok(body)
    }

    /// Ask the préfecture to cancel an acknowledged act; returns the cancellation transaction.
    fn acte_cancel(&self, id: &str) -> Result<String, PlatformError> {
        let fields = vec![Field::text("api", "1"), Field::text("id", id)];
        let body = latin1(&self.post("/modules/actes/actes_transac_cancel.php", fields, None)?);
        let lines = ok_lines(&body)?;
        lines
            .first()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| PlatformError::Unknown(excerpt(&body)))
    }

    /// The préfecture's documents not read yet.
    fn prefecture_documents(&self) -> Result<Vec<PrefectureDocument>, PlatformError> {
        let body = self.get("/modules/actes/api/list_document_prefecture.php", &[])?;
        parse_prefecture_documents(&body)
    }

    /// One préfecture document (a `.tar.gz` of the ACTES message and its files).
    fn prefecture_document(&self, id: &str) -> Result<Vec<u8>, PlatformError> {
        let body = self.get(
            "/modules/actes/actes_transac_get_document.php",
            &[("id", id)],
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&latin1(&body))));
        }
        if !body.starts_with(&[0x1f, 0x8b]) {
            return Err(PlatformError::Unknown(tf(
                "plateforme.reponse_illisible",
                &[("extrait", &excerpt(&latin1(&body)))],
            )));
        }
        Ok(body)
    }

    /// Tell the platform a préfecture document was received.
    fn prefecture_mark_read(&self, id: &str) -> Result<(), PlatformError> {
        let body = self.get(
            "/modules/actes/api/document_prefecture_mark_as_read.php",
            &[("transaction_id", id)],
        )?;
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| PlatformError::Unknown(excerpt(&latin1(&body))))?;
        if value["result"] == "ok" {
            Ok(())
        } else {
            Err(PlatformError::Ko(
                value["message"].as_str().unwrap_or_default().to_owned(),
            ))
        }
    }

    /// `helios_importer_fichier.php` with the file in field `enveloppe`.
    fn helios_import(
        &self,
        pes: &Path,
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<HeliosImport, PlatformError> {
        let fields = vec![
            Field::text("api", "1"),
            Field::File("enveloppe".into(), pes.to_owned()),
        ];
        let body = self.post(
            "/modules/helios/api/helios_importer_fichier.php",
            fields,
            progress,
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&latin1(&body))));
        }
        let fields = xml_fields(&body, "import")?;
        let id = fields.get("id").cloned().unwrap_or_default();
        let message = fields.get("message").cloned().unwrap_or_default();
        match fields.get("resultat").map(String::as_str) {
            Some("OK") if !id.is_empty() => Ok(HeliosImport {
                id,
                duplicate: false,
            }),
            Some("KO") if message.contains("doublon") => {
                if id.is_empty() {
                    Err(PlatformError::Duplicate(message))
                } else {
                    Ok(HeliosImport {
                        id,
                        duplicate: true,
                    })
                }
            }
            Some("KO") => Err(PlatformError::Ko(message)),
            _ => Err(PlatformError::Unknown(excerpt(&latin1(&body)))),
        }
    }

    /// `helios_transac_get_status.php`: the Hélios status code.
    fn helios_status(&self, id: &str) -> Result<i32, PlatformError> {
        let body = self.get(
            "/modules/helios/api/helios_transac_get_status.php",
            &[("transaction", id)],
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&latin1(&body))));
        }
        let fields = xml_fields(&body, "transaction")?;
        if fields.get("resultat").map(String::as_str) != Some("OK") {
            return Err(PlatformError::Ko(
                fields.get("message").cloned().unwrap_or_default(),
            ));
        }
        fields
            .get("status")
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| PlatformError::Unknown(excerpt(&latin1(&body))))
    }

    /// The PES_Acquit of a Hélios transaction, raw.
    fn helios_acquit(&self, id: &str) -> Result<Vec<u8>, PlatformError> {
        let body = self.get("/modules/helios/helios_download_acquit.php", &[("id", id)])?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&latin1(&body))));
        }
        Ok(body)
    }
}

/// The JSON list of préfecture documents; S²LOW prints numbers as strings or numbers.
pub fn parse_prefecture_documents(body: &[u8]) -> Result<Vec<PrefectureDocument>, PlatformError> {
    let unreadable = || {
        PlatformError::Unknown(tf(
            "plateforme.reponse_illisible",
            &[("extrait", &excerpt(&latin1(body)))],
        ))
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| unreadable())?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    value
        .as_array()
        .ok_or_else(unreadable)?
        .iter()
        .map(|d| {
            let id = text(&d["id"]);
            let kind = text(&d["type"]).parse().map_err(|_| unreadable())?;
            if id.is_empty() {
                return Err(unreadable());
            }
            Ok(PrefectureDocument {
                id,
                kind,
                unique_id: text(&d["unique_id"]),
                numero: text(&d["number"]),
                related_transaction_id: text(&d["related_transaction_id"]),
            })
        })
        .collect()
}

/// The platform's address, which must be HTTPS.
pub(crate) fn https_base(address: &str) -> Result<url::Url, PlatformError> {
    let base = url::Url::parse(address).map_err(|e| {
        PlatformError::Config(tf(
            "plateforme.adresse_invalide",
            &[("adresse", address), ("detail", &e.to_string())],
        ))
    })?;
    if base.scheme() != "https" {
        return Err(PlatformError::Config(tf(
            "plateforme.https_requis",
            &[("adresse", address)],
        )));
    }
    Ok(base)
}

/// S²LOW keeps `[a-zA-Z0-9._ -]` in uploaded names and turns the rest into `_`.
pub fn sanitise_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ' ' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The body of an answer; a non-2xx status is an error whose outcome is unknown (a 500 may come
/// after the platform acted).
fn success_body((status, body): (u16, Vec<u8>)) -> Result<Vec<u8>, PlatformError> {
    if !(200..300).contains(&status) {
        return Err(PlatformError::Unknown(tf(
            "plateforme.http",
            &[
                ("code", &status.to_string()),
                ("extrait", &excerpt(&latin1(&body))),
            ],
        )));
    }
    Ok(body)
}

/// ISO-8859-1 bytes to text (every byte is a character).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Text to ISO-8859-1, refusing characters it cannot hold.
pub fn to_latin1(text: &str) -> Result<Vec<u8>, PlatformError> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| PlatformError::Config(tf("plateforme.hors_latin1", &[("texte", text)])))
}

/// `OK\n…` → the lines after `OK`; `KO\n…` → [`PlatformError::Ko`]; anything else → unknown.
pub fn ok_lines(body: &str) -> Result<Vec<&str>, PlatformError> {
    let mut lines = body.split('\n').map(|l| l.trim_end_matches('\r'));
    match lines.next().map(str::trim) {
        Some("OK") => Ok(lines.collect()),
        Some("KO") => Err(PlatformError::Ko(ko_text(body))),
        _ => Err(PlatformError::Unknown(tf(
            "plateforme.reponse_illisible",
            &[("extrait", &excerpt(body))],
        ))),
    }
}

fn ko_text(body: &str) -> String {
    body.split_once('\n')
        .map(|(_, rest)| rest.trim().to_owned())
        .unwrap_or_default()
}

fn excerpt(body: &str) -> String {
    let flat: String = body.chars().take(200).collect();
    flat.replace(['\n', '\r'], " ").trim().to_owned()
}

/// Text of the leaf elements of a small XML answer whose root is `root`. A DTD, a wrong root or a
/// cut document is an error whose outcome is unknown.
pub fn xml_fields(
    body: &[u8],
    root: &str,
) -> Result<std::collections::HashMap<String, String>, PlatformError> {
    let unreadable = |detail: String| {
        PlatformError::Unknown(tf(
            "plateforme.reponse_illisible",
            &[("extrait", &format!("{detail} — {}", excerpt(&latin1(body))))],
        ))
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut fields = std::collections::HashMap::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut closed_root = false;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() && name != root {
                    return Err(unreadable(format!("racine {name}")));
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    return Err(unreadable(format!("racine {name}")));
                }
                fields.entry(name).or_insert_with(String::new);
            }
            Ok(Event::Text(t)) => {
                let decoded = t.decode().map_err(|e| unreadable(e.to_string()))?;
                text.push_str(&decoded);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().map_err(|e| unreadable(e.to_string()))?;
                let resolved = match name.as_ref() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "apos" => "'",
                    "quot" => "\"",
                    other => return Err(unreadable(format!("entité {other}"))),
                };
                text.push_str(resolved);
            }
            Ok(Event::End(_)) => {
                if let Some(name) = path.pop() {
                    if path.len() == 1 {
                        fields.entry(name).or_insert_with(|| text.trim().to_owned());
                    }
                    if path.is_empty() {
                        closed_root = true;
                    }
                }
                text.clear();
            }
            Ok(Event::DocType(_)) => return Err(unreadable("DTD".into())),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(unreadable(e.to_string())),
        }
        buf.clear();
    }
    if !closed_root {
        return Err(unreadable("document incomplet".into()));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_ko_and_html_answers_are_told_apart() {
        assert_eq!(ok_lines("OK\n42\n\n").unwrap()[0], "42");
        match ok_lines("KO\nLe numéro n'est pas correct\n") {
            Err(PlatformError::Ko(t)) => assert_eq!(t, "Le numéro n'est pas correct"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ok_lines("<html><body>502 Bad Gateway</body></html>"),
            Err(PlatformError::Unknown(_))
        ));
    }

    #[test]
    fn xml_answers_are_read_strictly() {
        let ok = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><import><id>12</id><resultat>OK</resultat><message>T&amp;l</message></import>";
        let f = xml_fields(ok, "import").unwrap();
        assert_eq!(f["id"], "12");
        assert_eq!(f["message"], "T&l");
        assert!(xml_fields(b"<import><id>12</id><resultat>OK", "import").is_err());
        assert!(xml_fields(b"<html><p>erreur</p></html>", "import").is_err());
        assert!(
            xml_fields(
                b"<!DOCTYPE import [<!ENTITY x \"y\">]><import><id>&x;</id></import>",
                "import"
            )
            .is_err()
        );
    }

    #[test]
    fn latin1_round_trip_and_refusal() {
        assert_eq!(to_latin1("Délibération").unwrap(), b"D\xe9lib\xe9ration");
        assert_eq!(latin1(b"D\xe9lib\xe9ration"), "Délibération");
        assert!(to_latin1("coût en €").is_err());
    }

    #[test]
    fn prefecture_document_lists_accept_strings_or_numbers_and_refuse_the_rest() {
        let list = parse_prefecture_documents(
            br#"[{"id":"12","type":"2","last_status_id":"7","unique_id":"034-210000000-20260101-A1-DE","number":"A1","related_transaction_id":"5"},{"id":13,"type":3,"unique_id":"x","number":"B","related_transaction_id":6}]"#,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].kind, 2);
        assert_eq!(list[1].id, "13");
        assert_eq!(list[1].related_transaction_id, "6");
        assert!(parse_prefecture_documents(b"<html>erreur</html>").is_err());
        assert!(parse_prefecture_documents(br#"[{"type":"2"}]"#).is_err());
        assert!(parse_prefecture_documents(br#"{"id":"1"}"#).is_err());
    }

    #[test]
    fn references_keep_their_kind() {
        for r in [
            Reference::Transaction("12".into()),
            Reference::UniqueId("034-123456789-20261127-D12-DE".into()),
        ] {
            assert_eq!(Reference::parse(&r.stored()), r);
        }
    }
}
