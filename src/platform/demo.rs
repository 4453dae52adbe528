//! Demonstration mode: the sandbox started inside the application, a demonstration certificate
//! (software, from the sandbox's PKI) and a sample act in the outbox, so that a fresh install
//! shows the whole path — queue, send over mutual TLS, accusé de réception — with no card and no
//! platform account.

use super::s2low::ActeFields;
use super::sandbox::{SandboxError, SandboxOptions, load_settings, replies, run};
use super::sender::ActeData;
use crate::messages::t;
use crate::outbox::{Kind, NewItem, Outbox, OutboxError, State};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the demonstration platform listens and how to reach it.
#[derive(Debug, Clone)]
pub struct Demo {
    pub adresse: String,
    pub ca: PathBuf,
    /// The demonstration identity (PKCS#12; password [`super::sandbox::pki::DEMO_P12_PASSWORD`]).
    pub p12: PathBuf,
    pub donnees: PathBuf,
}

/// Start the sandbox on a free local port, on its own thread, for the life of the process.
pub fn start(data_dir: &Path) -> Result<Demo, SandboxError> {
    let donnees = data_dir.join("bac-a-sable");
    let (tx, rx) = std::sync::mpsc::channel();
    let options = SandboxOptions {
        ecoute: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        donnees: donnees.clone(),
        ca_clients: Vec::new(),
    };
    let errors = tx.clone();
    std::thread::Builder::new()
        .name("bac-a-sable".into())
        .spawn(move || {
            let outcome = run(options, |ready| {
                let _ = tx.send(Ok((
                    ready.adresse,
                    ready.ca.clone(),
                    ready.demo_p12.clone(),
                )));
            });
            if let Err(e) = outcome {
                let _ = errors.send(Err(e));
            }
        })
        .map_err(|e| SandboxError::Data(donnees.clone(), e.to_string()))?;
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok((adresse, ca, p12))) => Ok(Demo {
            adresse: format!("https://{adresse}"),
            ca,
            p12,
            donnees,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(SandboxError::Data(donnees, t("demo.pas_de_reponse"))),
    }
}

/// Put a sample délibération (a generated PDF) in the outbox, waiting to be sent to the
/// demonstration platform. Returns the outbox id.
pub fn queue_sample_act(demo: &Demo, outbox: &mut Outbox) -> Result<i64, OutboxError> {
    let settings = load_settings(&demo.donnees)
        .map_err(|e| OutboxError::File(demo.donnees.clone(), e.to_string()))?;
    let dir = demo.donnees.join("exemples");
    crate::logging::create_private_dir(&dir)
        .map_err(|e| OutboxError::File(dir.clone(), e.to_string()))?;
    let now = time::OffsetDateTime::now_utc();
    let numero = format!(
        "DEMO{:02}{:02}{:02}{:02}",
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        now.month() as u8,
        now.day()
    );
    let objet = t("demo.objet");
    let pdf = dir.join(format!("{numero}.pdf"));
    std::fs::write(
        &pdf,
        replies::letter_pdf(&[&objet, &format!("Délibération n° {numero} du {date}")]),
    )
    .map_err(|e| OutboxError::File(pdf.clone(), e.to_string()))?;
    let data = ActeData {
        acte: ActeFields {
            nature_code: 1,
            numero: numero.clone(),
            objet: objet.clone(),
            date_decision: date.clone(),
            matiere: "1.1".into(),
            type_acte: "99_DE".into(),
            types_annexes: Vec::new(),
            document_papier: false,
        },
        id_acte: replies::id_acte(&settings.departement, &settings.siren, &date, &numero, 1),
    };
    let id = outbox.add(NewItem {
        genre: Kind::Acte,
        libelle: &objet,
        siren: Some(&settings.siren),
        numero_interne: Some(&numero),
        donnees: serde_json::to_value(&data).map_err(|e| OutboxError::Lot(e.to_string()))?,
        fichiers: vec![("acte".into(), pdf)],
        qui: &super::sender::who(),
    })?;
    outbox.transition(
        id,
        State::EnAttente,
        &super::sender::who(),
        &t("demo.journal"),
    )?;
    Ok(id)
}
