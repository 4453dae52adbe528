//! Signing prepared items (`envois signer`, and the window's « À signer »): several PES and acts
//! with one key and one PIN, each on the outbox's own copy, then put in the queue. What was
//! checked when the item was prepared is what is signed: each copy's recorded hash must still
//! match before the card is used for it. An item that fails stays `préparé`, its copies as they
//! were.

use crate::findings::Finding;
use crate::keys::Signer;
use crate::messages::{t, tf};
use crate::outbox::{ItemFile, Kind, Outbox, State};
use crate::pes::xades::{Profile, SignerDetails};
use crate::settings::{ActSignature, Settings};
use std::path::{Path, PathBuf};

/// A prepared item ready to be signed, with its copies.
pub struct Signable {
    pub id: i64,
    pub genre: Kind,
    files: Vec<ItemFile>,
}

/// How PES are signed (acts follow the settings' `[actes] signature`).
pub struct PesSigning {
    pub details: SignerDetails,
    pub profile: Profile,
    /// One signature over the whole file instead of one per bordereau.
    pub global: bool,
}

/// What is missing to sign PES: the signer's role or place, or the profile does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailsMissing {
    /// The signer's role (qualité), city or postal code is not given.
    RoleOrPlace,
    /// The profile given is neither `sha256` nor `sha1`.
    Profile(String),
}

/// The signer's details as given for one signing (command line), each falling back on the
/// settings' `[signature]`.
#[derive(Debug, Clone, Default)]
pub struct GivenDetails {
    pub role: Option<String>,
    pub ville: Option<String>,
    pub code_postal: Option<String>,
    pub profil: Option<String>,
}

/// The signer's role and place and the profile for PES: each value given, else the settings'
/// one (a blank value counts as none).
pub fn pes_details(
    given: &GivenDetails,
    settings: &Settings,
) -> Result<(SignerDetails, Profile), DetailsMissing> {
    let pick = |arg: &Option<String>, set: &Option<String>| {
        arg.clone()
            .or_else(|| set.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let s = &settings.signature;
    let (Some(role), Some(city), Some(postal_code)) = (
        pick(&given.role, &s.role),
        pick(&given.ville, &s.ville),
        pick(&given.code_postal, &s.code_postal),
    ) else {
        return Err(DetailsMissing::RoleOrPlace);
    };
    let profil = pick(&given.profil, &s.profil);
    let profile = Profile::parse(profil.as_deref())
        .ok_or_else(|| DetailsMissing::Profile(profil.unwrap_or_default()))?;
    Ok((
        SignerDetails {
            role,
            city,
            postal_code,
            country: "France".to_owned(),
        },
        profile,
    ))
}

/// How PES are signed from the settings alone (the window, where nothing is typed but the PIN):
/// the role and place of `[signature]`, its profile, one signature per bordereau. The French
/// sentence saying what to fill in the Paramètres when something is missing.
pub fn pes_signing_from_settings(settings: &Settings) -> Result<PesSigning, String> {
    match pes_details(&GivenDetails::default(), settings) {
        Ok((details, profile)) => Ok(PesSigning {
            details,
            profile,
            global: false,
        }),
        Err(DetailsMissing::RoleOrPlace) => Err(t("signature.parametres_requis")),
        Err(DetailsMissing::Profile(profil)) => Err(tf(
            "signature.profil_parametres_invalide",
            &[("valeur", &profil)],
        )),
    }
}

/// One item's outcome: signed and queued, or why not (it stays as it was).
#[derive(Debug, Clone)]
pub struct SignedItem {
    pub id: i64,
    pub state: State,
    pub findings: Vec<Finding>,
    pub error: Option<String>,
}

/// Each item exists, is `préparé` and has its copies: checked for all before the card is asked
/// anything. The French reason of the first that is not.
pub fn signable(outbox: &Outbox, ids: &[i64]) -> Result<Vec<Signable>, String> {
    let mut out = Vec::new();
    for &id in ids {
        let item = outbox.get(id).map_err(|e| e.to_string())?;
        if item.etat != State::Prepare {
            return Err(tf(
                "envoi.cli.signer_pas_prepare",
                &[("id", &id.to_string()), ("etat", &item.etat.label())],
            ));
        }
        let files = outbox.files(id).map_err(|e| e.to_string())?;
        let main_role = match item.genre {
            Kind::Pes => "pes",
            Kind::Acte => "acte",
        };
        if !files.iter().any(|f| f.role == main_role) {
            return Err(tf("envoi.sans_fichier", &[("id", &id.to_string())]));
        }
        out.push(Signable {
            id,
            genre: item.genre,
            files,
        });
    }
    Ok(out)
}

/// Sign every item with `key` (one login for all) and queue each that passes.
pub fn sign_items(
    outbox: &mut Outbox,
    items: &[Signable],
    key: &mut dyn Signer,
    pes: Option<&PesSigning>,
    settings: &Settings,
    who: &str,
) -> Vec<SignedItem> {
    items
        .iter()
        .map(|item| {
            let outcome = match item.genre {
                Kind::Pes => match pes {
                    Some(pes) => sign_pes(outbox, item, key, pes, settings, who),
                    None => Err((t("signature.details_requis"), Vec::new())),
                },
                Kind::Acte => sign_act(outbox, item, key, settings, who),
            };
            match outcome {
                Ok(findings) => SignedItem {
                    id: item.id,
                    state: after_signing(settings),
                    findings,
                    error: None,
                },
                Err((error, findings)) => SignedItem {
                    id: item.id,
                    state: State::Prepare,
                    findings,
                    error: Some(error),
                },
            }
        })
        .collect()
}

type Outcome = Result<Vec<Finding>, (String, Vec<Finding>)>;

/// Where a signed item goes: the queue, unless the settings keep signing and sending apart.
fn after_signing(settings: &Settings) -> State {
    if settings.envois.liberation_manuelle {
        State::Signe
    } else {
        State::EnAttente
    }
}

/// Record the signature in the item's journal (`signé`) and queue it when the settings say so.
fn mark_signed(
    outbox: &mut Outbox,
    id: i64,
    settings: &Settings,
    who: &str,
) -> Result<(), crate::outbox::OutboxError> {
    outbox.transition(id, State::Signe, who, "")?;
    match after_signing(settings) {
        State::Signe => Ok(()),
        queued => outbox.transition(id, queued, who, ""),
    }
}

/// A hidden file beside the item's copy, removed whatever happens.
struct Scratch(PathBuf);

impl Scratch {
    fn beside(copy: &Path, id: i64, what: &str) -> Scratch {
        let dir = copy.parent().unwrap_or(Path::new("."));
        Scratch(dir.join(format!(
            ".paraphe-signature-envoi-{id}-{what}-{}",
            std::process::id()
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The copy still has the hash recorded when the item was prepared: what is signed is what was
/// checked.
fn unchanged(id: i64, file: &ItemFile) -> Result<Vec<u8>, String> {
    let recorded = hex::decode(&file.sha256)
        .map_err(|_| tf("envoi.sans_fichier", &[("id", &id.to_string())]))?;
    let (actual, _) = crate::hashing::file_sha256_and_size(&file.chemin).map_err(|e| {
        tf(
            "envoi.copie_illisible",
            &[
                ("chemin", &file.chemin.display().to_string()),
                ("detail", &e.to_string()),
            ],
        )
    })?;
    if actual.as_slice() != recorded.as_slice() {
        return Err(tf(
            "envoi.copie_modifiee",
            &[("chemin", &file.chemin.display().to_string())],
        ));
    }
    Ok(recorded)
}

/// A PES: signed into a hidden file beside the copy, put in place of the copy only when it
/// passes the door (the same checks as `envois ajouter pes`).
fn sign_pes(
    outbox: &mut Outbox,
    item: &Signable,
    key: &mut dyn Signer,
    pes: &PesSigning,
    settings: &Settings,
    who: &str,
) -> Outcome {
    use crate::pes::sign::{KeySource, Scope, SignRequest, sign_checked_with};
    let id = item.id;
    let copy = item.files.iter().find(|f| f.role == "pes").ok_or_else(|| {
        (
            tf("envoi.sans_fichier", &[("id", &id.to_string())]),
            Vec::new(),
        )
    })?;
    let reviewed = hex::decode(&copy.sha256).map_err(|_| {
        (
            tf("envoi.sans_fichier", &[("id", &id.to_string())]),
            Vec::new(),
        )
    })?;
    let scratch = Scratch::beside(&copy.chemin, id, "pes");
    let request = SignRequest {
        input: &copy.chemin,
        output: &scratch.0,
        scope: if pes.global {
            Scope::File
        } else {
            Scope::Bordereaux
        },
        profile: pes.profile,
        details: pes.details.clone(),
        // The signing pass checks the copy against the hash recorded when it was prepared.
        reviewed_sha256: Some(reviewed),
        expected: 0,
    };
    let findings = sign_checked_with(&request, KeySource::Open(key), &mut |_| {}, &|| false)
        .map(|done| done.findings.clone())
        .map_err(|e| (e.to_string(), Vec::new()))?;
    let door = crate::pes::control::door_check(&scratch.0, settings)
        .map_err(|e| (e.to_string(), findings))?;
    if !door.accepted() {
        return Err((t("pes.porte.refuse"), door.control.findings));
    }
    outbox
        .replace_copy(id, "pes", &scratch.0, who)
        .and_then(|()| mark_signed(outbox, id, settings, who))
        .map_err(|e| (e.to_string(), door.control.findings.clone()))?;
    Ok(door.control.findings)
}

/// An act, signed as the settings say: detached CMS signatures of the act and each annex added
/// to the item, or the act's PDF signed inside (PAdES) in place of its copy, or nothing (signed
/// on paper). Each signature is checked right after it is made.
fn sign_act(
    outbox: &mut Outbox,
    item: &Signable,
    key: &mut dyn Signer,
    settings: &Settings,
    who: &str,
) -> Outcome {
    let id = item.id;
    let fail = |e: String| (e, Vec::new());
    let mut findings = Vec::new();
    match settings.actes.signature_for(&settings.plateforme) {
        ActSignature::Cms => {
            let mut made = Vec::new();
            let mut scratches = Vec::new();
            for file in item
                .files
                .iter()
                .filter(|f| f.role == "acte" || f.role == "annexe")
            {
                // Read once (an act's files are bounded by the platform's limit, checked when
                // it was prepared): hashed against the record, signed, and the signature checked
                // against these very bytes.
                let bytes = std::fs::read(&file.chemin).map_err(|e| {
                    fail(tf(
                        "envoi.copie_illisible",
                        &[
                            ("chemin", &file.chemin.display().to_string()),
                            ("detail", &crate::files::in_french(&e).to_string()),
                        ],
                    ))
                })?;
                let digest = openssl::sha::sha256(&bytes);
                if hex::encode(digest) != file.sha256 {
                    return Err(fail(tf(
                        "envoi.copie_modifiee",
                        &[("chemin", &file.chemin.display().to_string())],
                    )));
                }
                let cms = crate::actes::cms::sign_digest(key, &digest, &Default::default())
                    .map_err(|e| fail(e.to_string()))?;
                crate::actes::cms::verify_detached(&cms, &bytes).map_err(|e| {
                    fail(tf(
                        "envoi.signature_invalide",
                        &[("id", &id.to_string()), ("detail", &e)],
                    ))
                })?;
                let name = file
                    .chemin
                    .file_name()
                    .map(|n| format!("{}.p7s", n.to_string_lossy()))
                    .unwrap_or_else(|| "signature.p7s".into());
                let scratch = Scratch::beside(&file.chemin, id, &scratches.len().to_string());
                let dir = scratch.0.with_extension("d");
                crate::logging::create_private_dir(&dir).map_err(|e| fail(e.to_string()))?;
                let path = dir.join(crate::files::sanitise_name(&name));
                crate::logging::write_private(&path, &cms).map_err(|e| fail(e.to_string()))?;
                let role = if file.role == "acte" {
                    "signature_acte"
                } else {
                    "signature_annexe"
                };
                made.push((role.to_owned(), path));
                scratches.push(dir);
            }
            let added = outbox.add_copies(id, &made, who);
            for dir in scratches {
                let _ = std::fs::remove_dir_all(dir);
            }
            added.map_err(|e| fail(e.to_string()))?;
        }
        ActSignature::Pades => {
            let acte = item
                .files
                .iter()
                .find(|f| f.role == "acte")
                .ok_or_else(|| fail(tf("envoi.sans_fichier", &[("id", &id.to_string())])))?;
            unchanged(id, acte).map_err(fail)?;
            let scratch = Scratch::beside(&acte.chemin, id, "pdf");
            crate::actes::pades::sign_pdf(&acte.chemin, &scratch.0, key, &Default::default())
                .map_err(|e| fail(e.to_string()))?;
            // Verified before it replaces the copy: the new signature (the last one) is intact
            // and covers the whole file written.
            let reports = crate::marches::verify::verify_pdf_signatures(&scratch.0, None)
                .map_err(|e| fail(e.to_string()))?;
            match reports.last() {
                Some(r) if r.integrite && r.couvre_tout_le_fichier == Some(true) => {}
                other => {
                    let detail = other.map(|r| r.raisons.join(" ; ")).unwrap_or_default();
                    return Err(fail(tf(
                        "envoi.signature_pdf_non_verifiee",
                        &[("detail", &detail)],
                    )));
                }
            }
            outbox
                .replace_copy(id, "acte", &scratch.0, who)
                .map_err(|e| fail(e.to_string()))?;
        }
        ActSignature::Aucune => findings.push(Finding::warning(
            "actes.signe_sur_papier",
            t("envoi.acte_sans_signature"),
            Default::default(),
        )),
    }
    mark_signed(outbox, id, settings, who).map_err(|e| (e.to_string(), findings.clone()))?;
    Ok(findings)
}

/// Keep a PES as the person reviewed it (`reviewed`: its SHA-256 when shown) in the outbox,
/// `préparé`, through the door's checks for a file to sign: the window's « Préparer pour
/// signature ». The outbox's own copy must have that hash — a file changed since it was shown is
/// refused (and its copy withdrawn), so what is signed later is what was shown. The item's id.
pub fn prepare_pes_as_reviewed(
    outbox: &mut Outbox,
    input: &Path,
    reviewed: &[u8],
    settings: &Settings,
    who: &str,
) -> Result<i64, String> {
    let changed = || {
        tf(
            "signature.fichier_change",
            &[("chemin", &input.display().to_string())],
        )
    };
    // Changed since it was shown: refused before anything is queued.
    let (now, _) = crate::hashing::file_sha256_and_size(input).map_err(|e| {
        tf(
            "envoi.copie_illisible",
            &[
                ("chemin", &input.display().to_string()),
                ("detail", &crate::files::in_french(&e).to_string()),
            ],
        )
    })?;
    if now.as_slice() != reviewed {
        return Err(changed());
    }
    let (door, queued) = outbox
        .queue_pes_to_sign(input, settings, who)
        .map_err(|e| e.to_string())?;
    let Some((id, _)) = queued else {
        return Err(door.refusal());
    };
    let copy = outbox
        .files(id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|f| f.role == "pes");
    if copy.map(|f| f.sha256) != Some(hex::encode(reviewed)) {
        let _ = outbox.withdraw(id, who);
        return Err(changed());
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(role: Option<&str>, profil: Option<&str>) -> Settings {
        let mut s = Settings::default();
        s.signature.role = role.map(str::to_owned);
        s.signature.ville = Some("Arles".into());
        s.signature.code_postal = Some("13200".into());
        s.signature.profil = profil.map(str::to_owned);
        s
    }

    #[test]
    fn the_window_takes_the_signers_role_and_place_from_the_settings() {
        let pes = pes_signing_from_settings(&settings(Some("Ordonnateur"), Some("sha1")))
            .expect("from the settings");
        assert_eq!(pes.details.role, "Ordonnateur");
        assert_eq!(pes.details.city, "Arles");
        assert_eq!(pes.details.postal_code, "13200");
        assert_eq!(pes.profile, Profile::Sha1);
        assert!(!pes.global, "one signature per bordereau");
    }

    #[test]
    fn a_missing_or_blank_role_says_what_to_fill_in_the_parametres() {
        for role in [None, Some("  ")] {
            assert_eq!(
                pes_signing_from_settings(&settings(role, None)).err(),
                Some(t("signature.parametres_requis"))
            );
        }
        let said = pes_signing_from_settings(&settings(Some("Maire"), Some("md5")))
            .err()
            .expect("refused");
        assert!(said.contains("md5"), "{said}");
    }

    #[test]
    fn what_is_given_comes_before_the_settings() {
        let given = GivenDetails {
            role: Some("Maire".into()),
            code_postal: Some("34200".into()),
            ..Default::default()
        };
        let (details, profile) =
            pes_details(&given, &settings(Some("Ordonnateur"), None)).expect("details");
        assert_eq!(details.role, "Maire");
        assert_eq!(details.city, "Arles");
        assert_eq!(details.postal_code, "34200");
        assert_eq!(profile, Profile::Sha256);
        assert_eq!(
            pes_details(
                &GivenDetails {
                    profil: Some("sha3".into()),
                    ..Default::default()
                },
                &settings(Some("Maire"), None)
            )
            .err(),
            Some(DetailsMissing::Profile("sha3".into()))
        );
    }
}
