//! Client of the S²LOW API (reference notes `platform-s2low-api.md`): connection test, ACTES
//! create / status, Hélios import / status / PES_Acquit. Answers are read strictly: `OK`/`KO`
//! lines or XML, in ISO-8859-1; anything else (an HTML error page, a cut answer) is an error whose
//! outcome is unknown, never a success.

pub use super::http::UploadProgress;
use super::http::{Field, Http};
use super::tls::SharedCardKey;
use super::{Platform, PlatformError};
use crate::messages::tf;
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
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

/// The files of an act as they are uploaded: the act, its annexes, and the detached CMS
/// signatures (`.p7s`) when the act was signed — then one per file, in the same order.
#[derive(Debug, Clone, Copy)]
pub struct ActeFiles<'a> {
    pub acte: &'a Path,
    pub annexes: &'a [&'a Path],
    pub acte_signature: Option<&'a Path>,
    pub annexes_signatures: &'a [&'a Path],
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

/// `FICHIER:TYPE` (a letter or a piece of a reply) → the file's absolute path, which must exist,
/// and its typology; a French sentence otherwise.
pub fn file_with_typology(text: &str) -> Result<(std::path::PathBuf, String), String> {
    let (path, typologie) = text
        .rsplit_once(':')
        .filter(|(p, t)| !p.is_empty() && !t.is_empty())
        .ok_or_else(|| tf("envoi.cli.fichier_type", &[("valeur", text)]))?;
    let path = std::path::absolute(path).map_err(|e| e.to_string())?;
    std::fs::metadata(&path).map_err(|e| {
        tf(
            "plateforme.fichier_illisible",
            &[
                ("chemin", &path.display().to_string()),
                ("detail", &e.to_string()),
            ],
        )
    })?;
    Ok((path, typologie.to_owned()))
}

pub struct S2low {
    base: url::Url,
    http: Http,
    /// The account's login and password: HTTP authentication, and the nonce answer of the
    /// transmission confirmation.
    login: Option<(String, Zeroizing<String>)>,
    /// Acts are created waiting (`en_attente=1`) and confirmed with a nonce login.
    confirmation: bool,
}

/// A PES_Retour the platform holds for the collectivité (`helios_get_list.php`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PesRetourEntry {
    pub id: String,
    pub nom: String,
    pub date: String,
}

/// A file of an act as the platform lists it (`actes_transac_get_files_list.php`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActeFile {
    pub id: String,
    pub name: String,
    pub mimetype: String,
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
            login: None,
            confirmation: false,
        })
    }

    /// HTTP login in addition to the certificate (accounts that require one).
    pub fn with_login(mut self, user: String, password: Zeroizing<String>) -> S2low {
        self.http.set_login(user.clone(), password.clone());
        self.login = Some((user, password));
        self
    }

    /// Create acts waiting and confirm each with a nonce login (accounts whose transmissions
    /// need the user's authentication, "authentication_for_teletransmisson").
    pub fn with_confirmation(mut self, confirmation: bool) -> S2low {
        self.confirmation = confirmation;
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

    /// A raw file answer that must start with `magic` (a PDF, a gzip); `KO…` is the platform's
    /// refusal, anything else unreadable.
    fn get_file(
        &self,
        path: &str,
        query: &[(&str, &str)],
        magic: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        let mut url = self.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        // A préfecture document answers 302 to `actes_download_file.php?env=…`.
        let body = success_body(self.http.get_following_once(url)?)?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&crate::latin1::decode(&body))));
        }
        if !body.starts_with(magic) {
            return Err(unreadable(&body));
        }
        Ok(body)
    }

    /// The files of an act transaction: element 0 the message, 1 the act, then the annexes.
    pub fn acte_files(&self, transaction: &str) -> Result<Vec<ActeFile>, PlatformError> {
        let body = self.get(
            "/modules/actes/actes_transac_get_files_list.php",
            &[("transaction", transaction)],
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&crate::latin1::decode(&body))));
        }
        parse_acte_files(&body)
    }
}

impl Platform for S2low {
    /// `GET /api/test-connexion.php`: the body must start with `OK`.
    fn test_connection(&self) -> Result<String, PlatformError> {
        let body = crate::latin1::decode(&self.get("/api/test-connexion.php", &[])?);
        ok_lines(&body).map(|lines| lines.join("\n").trim().to_owned())
    }

    /// `actes_classification_request.php`: the body must start with `OK`.
    fn classification_request(&self) -> Result<(), PlatformError> {
        let body = crate::latin1::decode(&self.get(
            "/modules/actes/actes_classification_request.php",
            &[("api", "1")],
        )?);
        ok_lines(&body).map(|_| ())
    }

    /// Create an act transaction; returns the transaction id.
    fn acte_create(
        &self,
        fields: &ActeFields,
        files: &ActeFiles,
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<String, PlatformError> {
        let text = Field::text;
        let mut fields_out = vec![
            text("api", "1"),
            text("nature_code", &fields.nature_code.to_string()),
            text("number", &fields.numero),
            Field::Text("subject".into(), subject_latin1(&fields.objet)?),
            text("decision_date", &fields.date_decision),
            text(
                "document_papier",
                if fields.document_papier { "1" } else { "0" },
            ),
            text("type_acte", &fields.type_acte),
            text("en_attente", if self.confirmation { "1" } else { "0" }),
        ];
        for (i, level) in fields.matiere.split('.').take(5).enumerate() {
            fields_out.push(text(&format!("classif{}", i + 1), level));
        }
        fields_out.push(Field::File("acte_pdf_file".into(), files.acte.to_owned()));
        if let Some(signature) = files.acte_signature {
            fields_out.push(signature_field("acte_pdf_file_sign", signature)?);
        }
        for (path, typologie) in files.annexes.iter().zip(&fields.types_annexes) {
            fields_out.push(Field::File("acte_attachments[]".into(), path.to_path_buf()));
            fields_out.push(text("type_pj[]", typologie));
        }
        for signature in files.annexes_signatures {
            fields_out.push(signature_field("acte_attachments_sign[]", signature)?);
        }
        let body = crate::latin1::decode(&self.post(
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
        let body = crate::latin1::decode(
            &self.get("/modules/actes/actes_transac_get_status.php", &[query])?,
        );
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

    /// S²LOW finds an act by the name of its message file, `<IDActe>-1-1` (`unique_id`): the
    /// IDActe alone finds it only once the AR is in (the server stores it then), and an act left
    /// in anomaly before its AR would otherwise look absent and be sent again and again.
    fn acte_find(&self, lookup: &super::ActeLookup) -> Result<Option<Reference>, PlatformError> {
        let reference = Reference::UniqueId(format!("{}-1-1", lookup.id_acte));
        match self.acte_status(&reference) {
            Ok(_) => Ok(Some(reference)),
            Err(PlatformError::Ko(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `actes_transac_reponse_create.php`, as Pastell's S2low connector posts it (`api=1` in the
    /// body, which RedirectHelper reads for the `OK\n<id>` answer). `id` is the letter's
    /// transaction; the reply's type is the letter's own, and `type_envoie` chooses, for a demande
    /// de pièces (3) or a lettre d'observations (4), between sending (4: PieceComplementaire 3-4,
    /// ReponseLettreObservations 4-4) and refusing (3: RefusPieceComplementaire 3-3,
    /// RejetLettreObservations 4-3) — ActesTransaction::generateReponseCourrierXMLFile and the
    /// `$typeReponse` table of actes_transac_repondre.php. The 4-2 (AR of the lettre) is not the
    /// collectivité's to send. What each letter takes is checked first (super::check_reply).
    fn reply(&self, target: &super::ReplyTarget, reply: &Reply) -> Result<String, PlatformError> {
        if let Some(kind) = target.kind {
            super::check_reply(kind, reply)?;
        }
        let text = Field::text;
        let mut fields = vec![
            text("api", "1"),
            text("id", &target.document),
            text("type_envoie", if reply.refus { "3" } else { "4" }),
            text("type_acte", &reply.type_lettre),
            Field::File("acte_pdf_file".into(), reply.lettre.clone()),
        ];
        for (path, typologie) in &reply.pieces {
            fields.push(Field::File("acte_attachments[]".into(), path.clone()));
            fields.push(text("type_pj[]", typologie));
        }
        let body = crate::latin1::decode(&self.post(
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

    /// `actes_transac_post_confirm_api.php` with a nonce login: the platform answers with a
    /// redirect to `url_return` carrying `ERROR` (0 = confirmed) and `MESSAGE`. Never followed.
    fn acte_confirm(&self, transaction: &str) -> Result<(), PlatformError> {
        let Some((login, password)) = &self.login else {
            return Err(PlatformError::Config(crate::messages::t(
                "plateforme.confirmation_sans_identifiant",
            )));
        };
        let body = self.get("/api/get-nounce.php", &[])?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| unreadable(&body))?;
        let nonce = json_text(&value["nounce"]);
        if nonce.is_empty() {
            return Err(unreadable(&body));
        }
        let hash = nonce_hash(password, &nonce);
        let mut url = self.url("/modules/actes/actes_transac_post_confirm_api.php")?;
        url.query_pairs_mut().extend_pairs([
            ("id", transaction),
            ("nounce", nonce.as_str()),
            ("login", login.as_str()),
            ("hash", hash.as_str()),
            ("url_return", CONFIRMATION_RETURN),
        ]);
        let (status, location) = self.http.get_redirect(url)?;
        match location.filter(|_| (300..400).contains(&status)) {
            Some(location) => confirmation_outcome(&location),
            None => Err(PlatformError::Unknown(tf(
                "plateforme.http",
                &[("code", &status.to_string()), ("extrait", "")],
            ))),
        }
    }

    /// `actes_create_pdf.php`: the platform's bordereau of the transmission (needs the
    /// transaction id; an act known only by its IDActe has none to ask with).
    fn acte_bordereau(&self, reference: &Reference) -> Result<Option<Vec<u8>>, PlatformError> {
        let Reference::Transaction(id) = reference else {
            return Ok(None);
        };
        self.get_file(
            "/modules/actes/actes_create_pdf.php",
            &[("trans_id", id)],
            b"%PDF-",
        )
        .map(Some)
    }

    /// The act and its annexes stamped by the platform (`tampon=true`), PDF files only, as
    /// S²LOW gives them: element 0 of the list is the message and is skipped.
    fn acte_stamped_files(
        &self,
        reference: &Reference,
    ) -> Result<Vec<(String, Vec<u8>)>, PlatformError> {
        let Reference::Transaction(id) = reference else {
            return Ok(Vec::new());
        };
        let mut stamped = Vec::new();
        for file in self.acte_files(id)?.into_iter().skip(1) {
            if file.mimetype != "application/pdf" {
                continue;
            }
            let pdf = self.get_file(
                "/modules/actes/actes_download_file.php",
                &[("file", &file.id), ("tampon", "true")],
                b"%PDF-",
            )?;
            stamped.push((file.name, pdf));
        }
        Ok(stamped)
    }

    /// `helios_get_list.php`: the PES_Retour not read yet.
    fn helios_retours(&self) -> Result<Vec<PesRetourEntry>, PlatformError> {
        let body = self.get("/modules/helios/api/helios_get_list.php", &[])?;
        parse_pes_retour_list(&body)
    }

    /// `helios_get_retour.php`: one PES_Retour, raw (an XML `get_retour` with KO is a refusal).
    fn helios_retour(&self, id: &str) -> Result<Vec<u8>, PlatformError> {
        let body = self.get("/modules/helios/api/helios_get_retour.php", &[("id", id)])?;
        if let Ok(fields) = xml_fields(&body, "get_retour") {
            return Err(PlatformError::Ko(
                fields.get("message").cloned().unwrap_or_default(),
            ));
        }
        Ok(body)
    }

    /// `helios_change_status.php`: the PES_Retour is marked read.
    fn helios_retour_mark_read(&self, id: &str) -> Result<(), PlatformError> {
        let body = self.get(
            "/modules/helios/api/helios_change_status.php",
            &[("id", id)],
        )?;
        let fields = xml_fields(&body, "transaction")?;
        match fields.get("resultat").map(String::as_str) {
            Some("OK") => Ok(()),
            _ => Err(PlatformError::Ko(
                fields.get("message").cloned().unwrap_or_default(),
            )),
        }
    }

    /// `actes_classification_fetch.php`: the raw XML (a body starting `KO` is an error).
    fn classification(&self) -> Result<Vec<u8>, PlatformError> {
        let body = self.get(
            "/modules/actes/actes_classification_fetch.php",
            &[("api", "1")],
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&crate::latin1::decode(&body))));
        }
        Ok(body)
    }

    /// Ask the préfecture to cancel an acknowledged act; returns the cancellation transaction.
    fn acte_cancel(&self, id: &str) -> Result<String, PlatformError> {
        let fields = vec![Field::text("api", "1"), Field::text("id", id)];
        let body = crate::latin1::decode(&self.post(
            "/modules/actes/actes_transac_cancel.php",
            fields,
            None,
        )?);
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
        self.get_file(
            "/modules/actes/actes_transac_get_document.php",
            &[("id", id)],
            &[0x1f, 0x8b],
        )
    }

    /// Tell the platform a préfecture document was received.
    fn prefecture_mark_read(&self, id: &str) -> Result<(), PlatformError> {
        let body = self.get(
            "/modules/actes/api/document_prefecture_mark_as_read.php",
            &[("transaction_id", id)],
        )?;
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| PlatformError::Unknown(excerpt(&crate::latin1::decode(&body))))?;
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
            return Err(PlatformError::Ko(ko_text(&crate::latin1::decode(&body))));
        }
        let fields = xml_fields(&body, "import")?;
        let id = fields.get("id").cloned().unwrap_or_default();
        // helios_importer_fichier.php passes its (UTF-8) message through utf8_encode once more.
        let message =
            crate::latin1::repair_double_utf8(&fields.get("message").cloned().unwrap_or_default());
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
            _ => Err(PlatformError::Unknown(excerpt(&crate::latin1::decode(
                &body,
            )))),
        }
    }

    /// `helios_transac_get_status.php`: the Hélios status code.
    fn helios_status(&self, id: &str) -> Result<i32, PlatformError> {
        let body = self.get(
            "/modules/helios/api/helios_transac_get_status.php",
            &[("transaction", id)],
        )?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&crate::latin1::decode(&body))));
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
            .ok_or_else(|| PlatformError::Unknown(excerpt(&crate::latin1::decode(&body))))
    }

    /// The PES_Acquit of a Hélios transaction, raw.
    fn helios_acquit(&self, id: &str) -> Result<Vec<u8>, PlatformError> {
        let body = self.get("/modules/helios/helios_download_acquit.php", &[("id", id)])?;
        if body.starts_with(b"KO") {
            return Err(PlatformError::Ko(ko_text(&crate::latin1::decode(&body))));
        }
        Ok(body)
    }
}

/// The JSON list of préfecture documents.
pub fn parse_prefecture_documents(body: &[u8]) -> Result<Vec<PrefectureDocument>, PlatformError> {
    json_list(body, |d| {
        let id = json_text(&d["id"]);
        let kind = json_text(&d["type"]).parse().ok()?;
        (!id.is_empty()).then(|| PrefectureDocument {
            id,
            kind,
            unique_id: json_text(&d["unique_id"]),
            numero: json_text(&d["number"]),
            related_transaction_id: json_text(&d["related_transaction_id"]),
        })
    })
}

/// A JSON array answer, each element read by `read`; an element it cannot read (None), or an
/// answer that is not an array, is unreadable.
fn json_list<T>(
    body: &[u8],
    read: impl Fn(&serde_json::Value) -> Option<T>,
) -> Result<Vec<T>, PlatformError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| unreadable(body))?;
    value
        .as_array()
        .ok_or_else(|| unreadable(body))?
        .iter()
        .map(|element| read(element).ok_or_else(|| unreadable(body)))
        .collect()
}

/// A JSON value as text: S²LOW prints numbers as strings or as numbers; anything else is empty.
fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// An answer that cannot be read: its outcome is unknown (an excerpt says what came).
fn unreadable(body: &[u8]) -> PlatformError {
    PlatformError::Unknown(tf(
        "plateforme.reponse_illisible",
        &[("extrait", &excerpt(&crate::latin1::decode(body)))],
    ))
}

/// The outcome S²LOW wrote into the confirmation's return address: `erreur=0` is confirmed;
/// otherwise the message, which S²LOW pastes raw (not encoded: spaces, quotes, « », even `&` or
/// `#`) at the end of the address — so it is read as it is, everything after `&message=`.
fn confirmation_outcome(location: &str) -> Result<(), PlatformError> {
    let Some(query) = location.split_once('?').map(|(_, q)| q) else {
        return Err(PlatformError::Unknown(excerpt(location)));
    };
    let (head, message) = query.split_once("&message=").unwrap_or((query, ""));
    match head.strip_prefix("erreur=") {
        Some("0") => Ok(()),
        Some(_) => Err(PlatformError::Ko(message.trim().to_owned())),
        None => Err(PlatformError::Unknown(excerpt(location))),
    }
}

/// Where S²LOW is told to send the browser after a confirmation; Paraphe reads the redirect
/// instead of following it, so the host is never contacted.
const CONFIRMATION_RETURN: &str =
    "https://paraphe.invalid/confirmation?erreur=%%ERROR%%&message=%%MESSAGE%%";

/// The answer to the platform's nonce: SHA-256 of `password:nonce`, in hexadecimal.
pub fn nonce_hash(password: &str, nonce: &str) -> String {
    let phrase = Zeroizing::new(format!("{password}:{nonce}"));
    hex::encode(openssl::sha::sha256(phrase.as_bytes()))
}

/// The JSON list of an act's files; ids may be strings or numbers.
pub fn parse_acte_files(body: &[u8]) -> Result<Vec<ActeFile>, PlatformError> {
    json_list(body, |f| {
        let file = ActeFile {
            id: json_text(&f["id"]),
            name: json_text(&f["name"]),
            mimetype: json_text(&f["mimetype"]),
        };
        (!file.id.is_empty()).then_some(file)
    })
}

/// `<liste>` of `helios_get_list.php`: `resultat` KO is a refusal; each `pes_retour` an entry.
pub fn parse_pes_retour_list(body: &[u8]) -> Result<Vec<PesRetourEntry>, PlatformError> {
    let (fields, records) = xml_fields_and_records(body, "liste", "pes_retour")?;
    if fields.get("resultat").map(String::as_str) == Some("KO") {
        return Err(PlatformError::Ko(
            fields.get("message").cloned().unwrap_or_default(),
        ));
    }
    records
        .into_iter()
        .map(|r| {
            let entry = PesRetourEntry {
                id: r.get("id").cloned().unwrap_or_default(),
                nom: r.get("nom").cloned().unwrap_or_default(),
                date: r.get("date").cloned().unwrap_or_default(),
            };
            if entry.id.is_empty() {
                return Err(unreadable(body));
            }
            Ok(entry)
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

// S²LOW's rule for the names of uploaded files, used wherever Paraphe names a file.
pub use crate::files::sanitise_name;

/// The body of an answer; a non-2xx status is an error whose outcome is unknown (a 500 may come
/// after the platform acted).
fn success_body((status, body): (u16, Vec<u8>)) -> Result<Vec<u8>, PlatformError> {
    if !(200..300).contains(&status) {
        return Err(PlatformError::Unknown(tf(
            "plateforme.http",
            &[
                ("code", &status.to_string()),
                ("extrait", &excerpt(&crate::latin1::decode(&body))),
            ],
        )));
    }
    Ok(body)
}

/// Largest detached signature sent (a CMS with its certificate chain is a few kilobytes).
const MAX_SIGNATURE: u64 = 1024 * 1024;

/// A detached CMS signature as S²LOW takes it: the server reads the part as text and pastes it
/// into `<actes:Signature>` of the ACTES message (`ActesTransaction::addSign`, then
/// `generateActeXMLFile`), so it goes base64-encoded — raw DER would make the envelope invalid.
fn signature_field(field: &str, path: &Path) -> Result<Field, PlatformError> {
    let unreadable = |detail: String| {
        PlatformError::Config(tf(
            "plateforme.fichier_illisible",
            &[("chemin", &path.display().to_string()), ("detail", &detail)],
        ))
    };
    let file = crate::files::open_regular(path).map_err(|e| unreadable(e.to_string()))?;
    let mut der = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_SIGNATURE + 1), &mut der)
        .map_err(|e| unreadable(e.to_string()))?;
    if der.len() as u64 > MAX_SIGNATURE {
        return Err(unreadable(crate::messages::t(
            "plateforme.signature_trop_grande",
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "signature.p7s".into());
    Ok(Field::Named(
        field.to_owned(),
        name,
        openssl::base64::encode_block(&der).into_bytes(),
    ))
}

/// The objet as S²LOW reads it in API mode (ISO-8859-1), transliterated as the field does
/// (’ → ', œ → oe, € → EUR; the act's checks showed the result before it was queued). A
/// character with no such form makes this act unsendable through S²LOW — only this one: the
/// sending pass goes on (an error for the whole pass would stop every later act on each retry).
fn subject_latin1(objet: &str) -> Result<Vec<u8>, PlatformError> {
    crate::latin1::encode(&crate::latin1::transliterate(objet)).map_err(|c| {
        PlatformError::Unsendable(tf(
            "plateforme.hors_latin1",
            &[("texte", objet), ("caractere", &c.to_string())],
        ))
    })
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
pub fn xml_fields(body: &[u8], root: &str) -> Result<Fields, PlatformError> {
    xml_fields_and_records(body, root, "").map(|(fields, _)| fields)
}

/// Leaf elements of a small XML answer, as text by name.
pub type Fields = std::collections::HashMap<String, String>;

/// Like [`xml_fields`], and also each `record` child of the root as its own fields (a list
/// answer such as `<liste>…<pes_retour>…</pes_retour>…</liste>`).
pub fn xml_fields_and_records(
    body: &[u8],
    root: &str,
    record: &str,
) -> Result<(Fields, Vec<Fields>), PlatformError> {
    let unreadable = |detail: String| {
        PlatformError::Unknown(tf(
            "plateforme.reponse_illisible",
            &[(
                "extrait",
                &format!("{detail} — {}", excerpt(&crate::latin1::decode(body))),
            )],
        ))
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut fields = Fields::new();
    let mut records: Vec<Fields> = Vec::new();
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
                if path.len() == 1 && !record.is_empty() && name == record {
                    records.push(Fields::new());
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    return Err(unreadable(format!("racine {name}")));
                }
                match (path.len(), records.last_mut()) {
                    (1, _) if !record.is_empty() && name == record => records.push(Fields::new()),
                    (1, _) => {
                        fields.entry(name).or_default();
                    }
                    (2, Some(current)) if path[1] == record => {
                        current.entry(name).or_default();
                    }
                    _ => {}
                }
            }
            Ok(Event::Text(t)) => {
                let decoded = t.decode().map_err(|e| unreadable(e.to_string()))?;
                text.push_str(&decoded);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().map_err(|e| unreadable(e.to_string()))?;
                // S²LOW builds its Hélios answers with PHP's DOMDocument without an encoding,
                // which writes every non-ASCII character as a reference (`&#xE9;`).
                let numeric = name
                    .strip_prefix('#')
                    .and_then(|n| match n.strip_prefix('x') {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse::<u32>().ok(),
                    });
                match (name.as_ref(), numeric.and_then(char::from_u32)) {
                    (_, Some(c)) => text.push(c),
                    ("lt", _) => text.push('<'),
                    ("gt", _) => text.push('>'),
                    ("amp", _) => text.push('&'),
                    ("apos", _) => text.push('\''),
                    ("quot", _) => text.push('"'),
                    (other, _) => return Err(unreadable(format!("entité {other}"))),
                }
            }
            Ok(Event::End(_)) => {
                if let Some(name) = path.pop() {
                    let in_record = path.len() == 2 && !record.is_empty() && path[1] == record;
                    match records.last_mut() {
                        Some(current) if in_record => {
                            current
                                .entry(name)
                                .or_insert_with(|| text.trim().to_owned());
                        }
                        _ if path.len() == 1 && (record.is_empty() || name != record) => {
                            fields.entry(name).or_insert_with(|| text.trim().to_owned());
                        }
                        _ => {}
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
    Ok((fields, records))
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
    fn pes_retour_lists_are_read_entry_by_entry() {
        let list = parse_pes_retour_list(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><liste><idColl>21</idColl><resultat></resultat><message>liste réussi</message><dateDemande>2026-11-28</dateDemande><pes_retour><id>7</id><nom>R1.xml</nom><date>2026-11-27</date></pes_retour><pes_retour><id>9</id><nom>R2.xml</nom><date>2026-11-28</date></pes_retour></liste>".as_bytes(),
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].id, "9");
        assert_eq!(list[0].nom, "R1.xml");
        assert!(
            parse_pes_retour_list(b"<liste><idColl/><resultat/><message/></liste>")
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            parse_pes_retour_list(b"<liste><resultat>KO</resultat><message>refus</message></liste>"),
            Err(PlatformError::Ko(m)) if m == "refus"
        ));
        assert!(
            parse_pes_retour_list(b"<liste><pes_retour><nom>x</nom></pes_retour></liste>").is_err()
        );
        assert!(parse_pes_retour_list(b"<liste><pes_retour><id>1</id>").is_err());
    }

    #[test]
    fn nonce_answer_is_the_sha256_of_password_colon_nonce() {
        // Independent value: printf 'secret:abc' | sha256sum
        assert_eq!(
            nonce_hash("secret", "abc"),
            "7fd728468c310896116d2643be7c17f02fdedaa766b231cbf81401ff25bc6e25"
        );
    }

    /// As S²LOW writes it: the message pasted raw into the return address.
    #[test]
    fn confirmation_outcome_reads_the_raw_message() {
        let base = "https://paraphe.invalid/confirmation?erreur=";
        assert!(confirmation_outcome(&format!("{base}0&message=")).is_ok());
        let refused = format!(
            "{base}1&message=La télétransmission nécessite un certificat RGS<br/>Erreur : n° 3 & #4"
        );
        match confirmation_outcome(&refused) {
            Err(PlatformError::Ko(m)) => assert_eq!(
                m,
                "La télétransmission nécessite un certificat RGS<br/>Erreur : n° 3 & #4"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            confirmation_outcome("https://paraphe.invalid/"),
            Err(PlatformError::Unknown(_))
        ));
    }

    #[test]
    fn latin1_round_trip_and_refusal() {
        assert_eq!(
            subject_latin1("Vœu : l’école").unwrap(),
            b"Voeu : l'\xe9cole"
        );
        assert!(matches!(
            subject_latin1("Ωμέγα"),
            Err(PlatformError::Unsendable(_))
        ));
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
