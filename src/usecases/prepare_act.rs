//! Checking an act as the user typed it, and queueing it, for the command line and the window
//! alike: the register of numbers and the stored classification are opened, the classification
//! given (or the one in force) is used, every rule runs, and the numéro is checked against the
//! outbox too. Queueing records the act's data for the platform and its files (and detached
//! signatures) in the outbox.

use crate::actes::archive::Signatures;
use crate::actes::classification::{Classification, ClassificationStore};
use crate::actes::model::{Acte, CodeMatiere, Collectivite, Saisie, today};
use crate::actes::names::StyleNoms;
use crate::actes::register::{self, Registre};
use crate::actes::rules::{self, Contexte, Controle};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};
use crate::settings::Settings;
use std::path::{Path, PathBuf};

/// What a check needs besides the act typed.
pub struct Demande<'a> {
    pub settings: &'a Settings,
    pub collectivite: &'a Collectivite,
    pub style: StyleNoms,
    /// A classification file given explicitly (else the one in force on this workstation).
    pub classification: Option<&'a Path>,
    /// The register is required (a number is about to be reserved).
    pub for_sending: bool,
    pub document_papier: bool,
}

/// The act checked, with what building or queueing it next needs.
pub struct Prepared {
    pub controle: Controle,
    pub registre: Option<Registre>,
    pub store: Option<ClassificationStore>,
    pub classification: Option<Classification>,
}

fn note(code: &'static str, message: String, blocking: bool) -> Finding {
    if blocking {
        Finding::blocking(code, message, Location::default())
    } else {
        Finding::warning(code, message, Location::default())
    }
}

/// Open the register and the classification, then run every rule on `saisie`.
pub fn check_act(saisie: &Saisie, demande: &Demande) -> Prepared {
    let aujourdhui = today();
    let for_sending = demande.for_sending;
    let mut extra = Vec::new();
    let (registre, store) = match register::default_database() {
        Ok(db) => {
            let registre = Registre::open(&db);
            let store = ClassificationStore::open(&db);
            if let Err(e) = &registre {
                extra.push(note("actes.registre", e.to_string(), for_sending));
            }
            (registre.ok(), store.ok())
        }
        Err(e) => {
            extra.push(note("actes.registre", e.to_string(), for_sending));
            (None, None)
        }
    };
    let siren = demande.collectivite.siren.clone();
    let stored = match &store {
        Some(s) => match s.in_force_at(&siren, aujourdhui) {
            Ok(c) => c,
            Err(e) => {
                extra.push(note("actes.classification", e.to_string(), false));
                None
            }
        },
        None => None,
    };
    let (classification, newer) = match demande.classification {
        Some(path) => match Classification::read_file(path) {
            Ok(c) => {
                let newer = stored.as_ref().map(|s| s.date).filter(|d| *d > c.date);
                (Some(c), newer)
            }
            Err(e) => {
                extra.push(Finding::blocking(
                    "actes.classification",
                    e.to_string(),
                    Location {
                        element: Some(t("actes.champs.classification")),
                        ..Default::default()
                    },
                ));
                (None, None)
            }
        },
        None => (stored, None),
    };
    let ctx = Contexte {
        aujourdhui,
        limite_octets: demande.settings.collectivite.limite_envoi_octets,
        classification: classification.as_ref(),
        classification_plus_recente: newer,
        registre: registre.as_ref(),
        style: demande.style,
    };
    let mut controle = rules::check(saisie, demande.collectivite, &ctx);
    // A classification that could not be read already says so: no need to add "absent".
    if demande.classification.is_some() && classification.is_none() {
        controle
            .constats
            .retain(|f| f.code != "actes.classification_absente");
    }
    if !extra.is_empty() {
        let blocking = extra.iter().any(Finding::is_blocking);
        extra.append(&mut controle.constats);
        controle.constats = extra;
        if blocking {
            controle.acte = None;
        }
    }
    if let Some(finding) = controle
        .acte
        .as_ref()
        .and_then(|a| number_in_outbox(&siren, &a.numero))
    {
        if finding.is_blocking() {
            controle.acte = None;
        }
        controle.constats.insert(0, finding);
    }
    if let Some(finding) = controle
        .acte
        .as_ref()
        .and_then(|a| matiere_beyond_platform(&a.matiere, demande.settings))
    {
        controle.acte = None;
        controle.constats.insert(0, finding);
    }
    if let Some(a) = controle.acte.as_mut() {
        a.document_papier = demande.document_papier;
    }
    Prepared {
        controle,
        registre,
        store,
        classification,
    }
}

/// STELA takes one digit per level of matière (its `ActeParams` pattern): with STELA as the
/// platform, a matière such as 7.10 is refused here rather than at sending time.
fn matiere_beyond_platform(matiere: &CodeMatiere, settings: &Settings) -> Option<Finding> {
    use crate::settings::PlatformKind;
    if settings.plateforme.genre != PlatformKind::Stela || matiere.levels().iter().all(|l| *l <= 9)
    {
        return None;
    }
    let code = matiere
        .levels()
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".");
    Some(Finding::blocking(
        "actes.matiere_stela",
        tf("actes.regles.matiere_stela", &[("matiere", &code)]),
        Location {
            element: Some(t("actes.champs.matiere")),
            ..Default::default()
        },
    ))
}

/// The numéro interne is unique for the collectivité across everything prepared or sent from
/// this workstation: the register of prepared archives (a rule) and the outbox (here).
fn number_in_outbox(siren: &str, numero: &str) -> Option<Finding> {
    let location = Location {
        element: Some(t("actes.champs.numero")),
        ..Default::default()
    };
    let found = crate::outbox::Outbox::open_default_if_exists()
        .and_then(|o| o.map(|o| o.find_by_number(siren, numero)).transpose());
    match found {
        Ok(Some(Some(item))) => Some(Finding::blocking(
            "actes.numero_utilise",
            tf(
                "actes.regles.numero_dans_les_envois",
                &[
                    ("numero", numero),
                    ("id", &item.id.to_string()),
                    ("etat", &item.etat.label()),
                ],
            ),
            location,
        )),
        Ok(_) => None,
        Err(e) => Some(Finding::warning("actes.registre", e.to_string(), location)),
    }
}

/// Put a checked act in the outbox, with its detached signatures when given (kept privately in
/// the data folder): `en_attente`, or with `to_sign` left `préparé`, to be signed later
/// (`envois signer`, here or on another workstation after a lot). Returns the item's id and the
/// act's IDActe.
pub fn queue_act(
    acte: &Acte,
    collectivite: &Collectivite,
    signatures: Option<&Signatures>,
    to_sign: bool,
    qui: &str,
) -> Result<(i64, String), String> {
    use crate::outbox::{Kind, NewItem, Outbox, State};
    use crate::platform::s2low::ActeFields;
    use crate::platform::sender::ActeData;
    let id_acte = acte.id_acte(collectivite);
    let data = ActeData {
        acte: ActeFields {
            nature_code: acte.nature.code(),
            numero: acte.numero.clone(),
            objet: acte.objet.clone(),
            date_decision: crate::actes::model::iso_date(acte.date_decision),
            matiere: acte
                .matiere
                .levels()
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("."),
            type_acte: acte.document.typologie.clone(),
            types_annexes: acte.annexes.iter().map(|a| a.typologie.clone()).collect(),
            document_papier: acte.document_papier,
        },
        id_acte: id_acte.clone(),
    };
    let mut fichiers = vec![("acte".to_owned(), acte.document.chemin.clone())];
    fichiers.extend(
        acte.annexes
            .iter()
            .map(|a| ("annexe".to_owned(), a.chemin.clone())),
    );
    if let Some(signatures) = signatures {
        fichiers.extend(write_signatures(&collectivite.siren, acte, signatures)?);
    }
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let donnees = serde_json::to_value(&data).map_err(|e| e.to_string())?;
    let id = outbox
        .add(NewItem {
            genre: Kind::Acte,
            libelle: &acte.objet,
            siren: Some(&collectivite.siren),
            numero_interne: Some(&acte.numero),
            donnees,
            fichiers,
            qui,
        })
        .map_err(|e| e.to_string())?;
    if !to_sign {
        outbox
            .transition(id, State::EnAttente, qui, "")
            .map_err(|e| e.to_string())?;
    }
    Ok((id, id_acte))
}

/// Keep the detached signatures of a queued act in the data folder (private files), named after
/// the file each signs; returns them as outbox files (`signature_acte`, `signature_annexe`).
fn write_signatures(
    siren: &str,
    acte: &Acte,
    signatures: &Signatures,
) -> Result<Vec<(String, PathBuf)>, String> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let dir = crate::settings::data_dir()
        .map_err(|e| e.to_string())?
        .join("signatures")
        .join(crate::files::sanitise_name(&format!(
            "{siren}-{}-{stamp}",
            acte.numero
        )));
    crate::logging::create_private_dir(&dir).map_err(|e| e.to_string())?;
    let write = |role: &str, signed: &Path, cms: &[u8]| {
        let name = signed
            .file_name()
            .map(|n| format!("{}.p7s", n.to_string_lossy()))
            .unwrap_or_else(|| "signature.p7s".into());
        let path = dir.join(crate::files::sanitise_name(&name));
        crate::logging::write_private(&path, cms)
            .map(|()| (role.to_owned(), path.clone()))
            .map_err(|e| format!("{} : {e}", path.display()))
    };
    let mut out = Vec::new();
    if let Some(cms) = &signatures.document {
        out.push(write("signature_acte", &acte.document.chemin, cms)?);
    }
    for (annexe, cms) in acte.annexes.iter().zip(&signatures.annexes) {
        if let Some(cms) = cms {
            out.push(write("signature_annexe", &annexe.chemin, cms)?);
        }
    }
    Ok(out)
}

/// A document as the person saw it checked: its path and SHA-256.
pub type ShownFile = (PathBuf, Vec<u8>);

/// The SHA-256 of each file of `saisie` (act, then annexes) that can be read now: taken with the
/// check the person looks at, so that what is signed later is what was shown.
pub fn shown_files(saisie: &Saisie) -> Vec<ShownFile> {
    saisie
        .acte
        .iter()
        .chain(&saisie.annexes)
        .filter_map(|piece| {
            crate::hashing::file_sha256_and_size(&piece.chemin)
                .ok()
                .map(|(sha, _)| (piece.chemin.clone(), sha))
        })
        .collect()
}

/// Queue a checked act, sign it with `key` as the settings choose (`[actes] signature`) and put
/// it in the queue — the window's « Signer et mettre en file ». The act's files must still be
/// those `shown` to the person (by hash), copies included: otherwise nothing is signed and the
/// item is withdrawn. The key is opened (one PIN) before anything is queued, so a wrong PIN
/// leaves no item behind; a signature that fails after that leaves the item `préparé`, to sign
/// from « À signer ».
pub fn sign_and_queue_act(
    acte: &Acte,
    collectivite: &Collectivite,
    shown: &[ShownFile],
    key: super::KeyToOpen,
    settings: &Settings,
    who: &str,
) -> Result<(i64, String), String> {
    use crate::outbox::Outbox;
    use crate::settings::ActSignature;
    if settings.actes.signature_for(&settings.plateforme) == ActSignature::Aucune {
        return Err(t("actes.signature_aucune_reglee"));
    }
    let documents: Vec<&Path> = std::iter::once(&acte.document)
        .chain(&acte.annexes)
        .map(|p| p.chemin.as_path())
        .collect();
    let mut expected = Vec::new();
    for path in &documents {
        let Some((_, sha)) = shown.iter().find(|(p, _)| p == path) else {
            return Err(tf(
                "actes.fichier_non_controle",
                &[("fichier", &path.display().to_string())],
            ));
        };
        expected.push(hex::encode(sha));
    }
    // Changed since it was shown: refused before the card is asked anything.
    for (path, want) in documents.iter().zip(&expected) {
        let now = crate::hashing::file_sha256_and_size(path)
            .map(|(sha, _)| hex::encode(sha))
            .unwrap_or_default();
        if now != *want {
            return Err(tf(
                "actes.fichier_change_depuis_controle",
                &[("fichier", &path.display().to_string())],
            ));
        }
    }
    let mut signer = key.open()?;
    let (id, id_acte) = queue_act(acte, collectivite, None, true, who)?;
    let mut outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let copies: Vec<String> = outbox
        .files(id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|f| f.role == "acte" || f.role == "annexe")
        .map(|f| f.sha256)
        .collect();
    if copies != expected {
        // The first document whose copy differs (or, copies missing, the act itself).
        let changed = documents
            .iter()
            .zip(&expected)
            .zip(&copies)
            .find(|((_, want), got)| want != got)
            .map_or(documents[0], |((path, _), _)| *path);
        // Changed between the check shown and the copy: not what the person saw.
        let _ = outbox.withdraw(id, who);
        return Err(tf(
            "actes.fichier_change_depuis_controle",
            &[("fichier", &changed.display().to_string())],
        ));
    }
    let items = super::sign_items::signable(&outbox, &[id])?;
    let outcome =
        super::sign_items::sign_items(&mut outbox, &items, &mut *signer, None, settings, who);
    match outcome.into_iter().next() {
        Some(done) if done.error.is_none() => Ok((id, id_acte)),
        Some(done) => Err(tf(
            "actes.signature_echouee_gardee",
            &[
                ("id", &id.to_string()),
                ("detail", &done.error.unwrap_or_default()),
            ],
        )),
        None => Err(tf(
            "actes.signature_echouee_gardee",
            &[("id", &id.to_string()), ("detail", "")],
        )),
    }
}
