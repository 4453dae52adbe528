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
    /// The demonstration signer for PES (non-repudiation; same password).
    pub p12_signature: PathBuf,
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
                    ready.demo_signature_p12.clone(),
                )));
            });
            if let Err(e) = outcome {
                let _ = errors.send(Err(e));
            }
        })
        .map_err(|e| SandboxError::Data(donnees.clone(), e.to_string()))?;
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok((adresse, ca, p12, p12_signature))) => Ok(Demo {
            adresse: format!("https://{adresse}"),
            ca,
            p12,
            p12_signature,
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
    let numero = format!("DEMO{}", stamp(now));
    let date = crate::actes::model::iso_date(now.date());
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

/// Write a sample PES_Aller to sign in the demonstration: two bordereaux of mandats with their
/// tiers and a facture as pièce justificative, in ISO-8859-1 as Hélios files are. Returns its
/// path (a new file each time, in the sandbox's `exemples/`).
pub fn write_sample_pes(demo: &Demo) -> std::io::Result<PathBuf> {
    use std::fmt::Write as _;
    let dir = demo.donnees.join("exemples");
    crate::logging::create_private_dir(&dir)?;
    let now = time::OffsetDateTime::now_utc();
    let date = crate::actes::model::iso_date(now.date());
    let stamp = stamp(now);
    let facture = replies::letter_pdf(&[
        "Facture n° 2026-118 — Papeterie du Centre",
        "Fournitures scolaires, école Jules-Ferry : 1 250,40 euros HT",
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &facture)?;
    let facture_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(gz.finish()?)
    };
    let bordereaux: [(&str, &[SamplePiece]); 2] = [
        (
            "1",
            &[
                (
                    "Fournitures scolaires école Jules-Ferry",
                    "Papeterie du Centre",
                    "1250.40",
                    true,
                ),
                (
                    "Entretien des espaces verts (octobre)",
                    "Jardins de l'Hérault",
                    "3480.00",
                    false,
                ),
                (
                    "Repas du restaurant scolaire",
                    "Cuisine Centrale Sud",
                    "5212.75",
                    false,
                ),
            ],
        ),
        (
            "2",
            &[
                (
                    "Électricité de la mairie (septembre)",
                    "Énergie Occitanie",
                    "812.19",
                    false,
                ),
                (
                    "Réparation de la chaudière du gymnase",
                    "Chauffage Martin & Fils",
                    "2145.00",
                    false,
                ),
            ],
        ),
    ];
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n\
<n:PES_Aller xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\">\n\
<Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESALR2\"/><NomFic V=\"PES_demo_{stamp}\"/></Parametres><Emetteur><Sigle V=\"PARAPHE\"/><Adresse V=\"MAIRIE DE DEMONSTRATION\"/></Emetteur><Recepteur><Sigle V=\"HELIOS\"/><Adresse V=\"DGFIP\"/></Recepteur></Enveloppe>\n\
<EnTetePES><DteStr V=\"{date}\"/><IdPost V=\"034000\"/><IdColl V=\"21340172200016\"/><CodCol V=\"123\"/><CodBud V=\"01\"/><LibelleColBud V=\"Commune de Démonstration\"/></EnTetePES>\n\
<PES_DepenseAller><EnTeteDepense><IdVer V=\"2\"/><InfoDematerialisee V=\"1\"/></EnTeteDepense>\n"
    );
    for (numero, pieces) in bordereaux {
        let total: i64 = pieces.iter().map(|p| cents(p.2)).sum();
        let _ = writeln!(
            xml,
            "<Bordereau Id=\"BORD{numero}\"><BlocBordereau><Exer V=\"{year}\"/><IdBord V=\"{numero}\"/><DteBordEm V=\"{date}\"/><TypBord V=\"01\"/><NbrPce V=\"{n}\"/><MtBordHT V=\"{euros}.{centimes:02}\"/></BlocBordereau>",
            year = now.year(),
            n = pieces.len(),
            euros = total / 100,
            centimes = total % 100
        );
        for (i, (objet, tiers, montant, pj)) in pieces.iter().enumerate() {
            let pj_ref = if *pj {
                "<PJRef><Support V=\"01\"/><IdUnique V=\"FACT2026118\"/><NomPJ V=\"facture.pdf\"/></PJRef>"
            } else {
                ""
            };
            let _ = writeln!(
                xml,
                "<Piece><BlocPiece><InfoPce><IdPce V=\"{id}\"/><TypPce V=\"01\"/><NatPce V=\"01\"/><Obj V=\"{objet}\"/>{pj_ref}</InfoPce></BlocPiece><LigneDePiece><BlocLignePiece><InfoLignePce><IdLigne V=\"1\"/><Nature V=\"6068\"/><Fonction V=\"020\"/><ModRegl V=\"03\"/><TVAIntraCom V=\"0\"/><MtHT V=\"{montant}\"/></InfoLignePce></BlocLignePiece><Tiers><InfoTiers><RefTiers V=\"{id}{numero}\"/><CatTiers V=\"01\"/><NatJur V=\"01\"/><Nom V=\"{tiers}\"/></InfoTiers><Adresse><TypAdr V=\"1\"/><Adr2 V=\"1 place de la Mairie\"/><CP V=\"34000\"/><Ville V=\"MONTPELLIER\"/><CodRes V=\"0\"/></Adresse></Tiers></LigneDePiece></Piece>",
                id = i + 1,
                objet = replies::escape(objet),
                tiers = replies::escape(tiers),
            );
        }
        xml.push_str("</Bordereau>\n");
    }
    let _ = write!(
        xml,
        "</PES_DepenseAller>\n<PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ><PJ><Contenu><Fichier MIMEType=\"application/pdf\">{facture_b64}</Fichier></Contenu><IdUnique V=\"FACT2026118\"/><NomPJ V=\"facture.pdf\"/><TypePJ V=\"003\"/><Description V=\"Facture de la Papeterie du Centre\"/></PJ></PES_PJ>\n</n:PES_Aller>\n"
    );
    // Every character above is Latin-1: ISO-8859-1 is one byte per character.
    let path = dir.join(format!("PES_demo_{stamp}.xml"));
    crate::logging::write_private(&path, &crate::latin1::encode_lossy(&xml))?;
    Ok(path)
}

/// A sample piece: object, tiers, amount HT, whether it cites the facture.
type SamplePiece = (&'static str, &'static str, &'static str, bool);

/// `"1250.40"` → 125040.
fn cents(amount: &str) -> i64 {
    let (euros, centimes) = amount.split_once('.').unwrap_or((amount, "0"));
    euros.parse::<i64>().unwrap_or(0) * 100 + centimes.parse::<i64>().unwrap_or(0)
}

/// Day, hour, minute and second as eight digits: the demo's numbers and file names differ
/// from one start to the next.
fn stamp(now: time::OffsetDateTime) -> String {
    format!(
        "{:02}{:02}{:02}{:02}",
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
