//! Client of STELA's editor API for ACTES (reference notes `platform-stela-api.md`): create,
//! status, cancel, and finding an act by its number (the reconciliation after a 409). Field names
//! follow STELA's model as the notes read it (`acteHistories` with `status` and `date`); the
//! sandbox speaks the same. STELA carries no Hélios flow.

use super::http::{Field, Http};
use super::s2low::{
    ActeFields, ActeFiles, ActeStatus, HeliosImport, PrefectureDocument, Reference, UploadProgress,
};
use super::tls::SharedCardKey;
use super::{Platform, PlatformError};
use crate::messages::tf;
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
pub fn material_code(matiere: &str) -> String {
    let mut levels: Vec<&str> = matiere.split('.').filter(|l| !l.is_empty()).collect();
    levels.resize(5, "0");
    levels.join("-")
}

/// The last event of an act's history, as an ACTES status code (S²LOW's numbering, which the
/// sender understands): ACK_RECEIVED → 4, NACK_RECEIVED → -1, CANCELLED → 0, SENT → 3, else 1.
pub fn status_from_history(act: &serde_json::Value) -> Option<(i32, String)> {
    let histories = act.get("acteHistories")?.as_array()?;
    let last = histories.iter().max_by(|a, b| {
        let date = |v: &serde_json::Value| v["date"].as_str().unwrap_or_default().to_owned();
        date(a).cmp(&date(b))
    })?;
    let status = last["status"].as_str()?;
    let code = match status {
        "ACK_RECEIVED" => 4,
        "NACK_RECEIVED" | "ANTIVIRUS_KO" | "NOT_SENT" => -1,
        "CANCELLED" => 0,
        "SENT" => 3,
        _ => 1,
    };
    let message = last["message"].as_str().unwrap_or(status).to_owned();
    Some((code, message))
}

impl Stela {
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

    /// 5xx is an unknown outcome; 4xx is for the caller to read.
    fn checked(&self, (status, body): (u16, Vec<u8>)) -> Result<(u16, Vec<u8>), PlatformError> {
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
    /// STELA's editor API has no test call: listing the account's acts proves the certificate
    /// and the account (a JSON list is expected).
    fn test_connection(&self) -> Result<String, PlatformError> {
        let (status, body) = self.checked(self.http.get(self.url("/editeur/api/acte")?)?)?;
        if !(200..300).contains(&status) {
            return Err(PlatformError::Ko(excerpt(&body)));
        }
        let list: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| PlatformError::Unknown(excerpt(&body)))?;
        let count = list
            .as_array()
            .map(Vec::len)
            .ok_or_else(|| PlatformError::Unknown(excerpt(&body)))?;
        Ok(tf(
            "plateforme.stela_connexion",
            &[("nombre", &count.to_string())],
        ))
    }

    fn acte_create(
        &self,
        fields: &ActeFields,
        files: &ActeFiles,
        progress: Option<Arc<UploadProgress>>,
    ) -> Result<String, PlatformError> {
        // The notes do not say how STELA's editor API takes detached signatures: the act goes
        // without them (a signed PDF carries its own).
        let (acte, annexes) = (files.acte, files.annexes);
        let text = Field::text;
        let mut form = vec![
            text("number", &fields.numero),
            text("objet", &fields.objet),
            text("nature", nature_name(fields.nature_code)),
            text("code", &material_code(&fields.matiere)),
            text("decision", &fields.date_decision),
            text("fileType", &fields.type_acte),
            Field::File("file".into(), acte.to_owned()),
        ];
        for (path, typologie) in annexes.iter().zip(&fields.types_annexes) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            form.push(Field::File("annexes".into(), path.to_path_buf()));
            form.push(text("annexeTypes", &format!("{name}:{typologie}")));
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
            400..=499 => Err(PlatformError::Ko(text)),
            _ => Err(PlatformError::Unknown(excerpt(&body))),
        }
    }

    fn acte_status(&self, reference: &Reference) -> Result<ActeStatus, PlatformError> {
        let Reference::Transaction(uuid) = reference else {
            return Err(PlatformError::Config(tf("plateforme.stela_sans_uuid", &[])));
        };
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
        let (code, message) =
            status_from_history(&act).ok_or_else(|| PlatformError::Unknown(excerpt(&body)))?;
        Ok(ActeStatus {
            code,
            detail: if code == -1 { message } else { String::new() },
        })
    }

    /// The act with this number on the platform, if any (reconciliation after a 409).
    fn acte_find(&self, _id_acte: &str, numero: &str) -> Result<Option<Reference>, PlatformError> {
        let (_, body) = self.checked(self.http.get(self.url("/editeur/api/acte")?)?)?;
        let list: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| PlatformError::Unknown(excerpt(&body)))?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["number"].as_str() == Some(numero))
            .and_then(|a| a["uuid"].as_str())
            .map(|uuid| Reference::Transaction(uuid.to_owned())))
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

    /// STELA answers the préfecture under `/courrier-simple`, `/pieces-complementaires`… of an
    /// act; the notes do not give the fields: not offered yet.
    fn reply(
        &self,
        _document: &str,
        _reply: &super::s2low::Reply,
    ) -> Result<String, PlatformError> {
        Err(PlatformError::Ko(crate::messages::t(
            "plateforme.stela_sans_reponse",
        )))
    }

    /// STELA lists its codes matières in its own form, not as an ACTES classification.
    fn classification(&self) -> Result<Vec<u8>, PlatformError> {
        Err(PlatformError::Ko(crate::messages::t(
            "plateforme.stela_sans_classification",
        )))
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

    /// The editor API has no listing of the préfecture's documents: nothing to bring back.
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
    PlatformError::Ko(crate::messages::t("plateforme.stela_sans_helios"))
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
        assert_eq!(material_code("1.1"), "1-1-0-0-0");
        assert_eq!(material_code("7.1.2.3.4"), "7-1-2-3-4");
    }

    #[test]
    fn the_latest_event_gives_the_status() {
        let act = serde_json::json!({ "acteHistories": [
            { "status": "CREATED", "date": "2026-11-27T10:00:00" },
            { "status": "ACK_RECEIVED", "date": "2026-11-27T10:05:00" },
            { "status": "SENT", "date": "2026-11-27T10:01:00" },
        ]});
        assert_eq!(status_from_history(&act).map(|s| s.0), Some(4));
        let nack = serde_json::json!({ "acteHistories": [
            { "status": "NACK_RECEIVED", "date": "2026-11-27T10:05:00", "message": "Archive invalide" },
        ]});
        assert_eq!(
            status_from_history(&nack),
            Some((-1, "Archive invalide".into()))
        );
        assert_eq!(status_from_history(&serde_json::json!({})), None);
    }
}
