//! `paraphe envois lister|exporter|importer|retirer|relancer|liberer`

use crate::messages::{t, tf};
use crate::outbox::{Filter, Outbox, State};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Seulement les envois dans cet état (brouillon, prepare, signe, en_attente, en_cours,
    /// envoye, acquitte, refuse, erreur, annule) ; l'option peut être répétée.
    #[arg(long = "etat", value_name = "ETAT")]
    pub etats: Vec<String>,
    /// Nombre maximal de lignes.
    #[arg(long, default_value_t = 100)]
    pub limite: usize,
    /// Seulement les envois où l'on trouve ce texte : objet, numéro interne, identifiant de la
    /// plateforme, IDActe ou nom d'un fichier (sans tenir compte des majuscules ni des accents).
    #[arg(long, value_name = "TEXTE")]
    pub chercher: Option<String>,
    /// Seulement les envois de cette collectivité (son nom ou son SIREN, parmi celles des
    /// paramètres).
    #[arg(long, value_name = "NOM|SIREN")]
    pub collectivite: Option<String>,
    /// Ordre de la liste : date (du dernier changement, par défaut), objet, numero, etat (dans
    /// l'ordre de la vie d'un envoi) ou collectivite.
    #[arg(long, value_name = "COLONNE", default_value = "date")]
    pub tri: String,
    /// Ordre croissant (de A à Z, du plus ancien au plus récent) au lieu de décroissant.
    #[arg(long)]
    pub croissant: bool,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

/// The order `--tri` names.
fn tri_of(text: &str) -> Option<crate::outbox::Tri> {
    use crate::outbox::Tri;
    match crate::latin1::fold(text.trim()).as_str() {
        "date" | "modification" => Some(Tri::Modification),
        "objet" | "libelle" => Some(Tri::Objet),
        "numero" => Some(Tri::Numero),
        "etat" => Some(Tri::Etat),
        "collectivite" => Some(Tri::Collectivite),
        _ => None,
    }
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Numéros des envois à mettre dans le lot.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
    /// Le fichier du lot à écrire.
    #[arg(short = 'o', long = "sortie", value_name = "FICHIER")]
    pub sortie: PathBuf,
    /// Nom du lot.
    #[arg(long, default_value = "lot")]
    pub nom: String,
    /// Signe le manifeste avec la clé d'authentification de la carte au lieu de la clé de
    /// signature.
    #[arg(long)]
    pub authentification: bool,
    /// N'appose aucune signature : le poste qui importe devra accepter le lot explicitement
    /// (--accepter-non-signe).
    #[arg(long = "sans-signature", conflicts_with_all = ["authentification", "p12", "cle_id", "module", "jeton"])]
    pub sans_signature: bool,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cle: super::KeyArgs,
}

#[derive(Debug, clap::Args)]
pub struct ItemArgs {
    /// Numéro de l'envoi (voir `paraphe envois lister`).
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Le fichier du lot.
    #[arg(value_name = "FICHIER")]
    pub fichier: PathBuf,
    /// Autorités de confiance (PEM) pour vérifier le signataire du lot (sinon : celles des
    /// paramètres, [verification] confiance).
    #[arg(long, value_name = "PEM")]
    pub confiance: Option<PathBuf>,
    /// Importe un lot non signé en acceptant le risque (noté au journal de chaque envoi).
    #[arg(long = "accepter-non-signe")]
    pub accepter_non_signe: bool,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

fn open() -> Result<Outbox, i32> {
    Outbox::open_default().map_err(|e| {
        eprintln!("{} : {e}", t("commun.erreur"));
        2
    })
}

pub fn lister(args: &ListArgs) -> i32 {
    let outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut etats = Vec::new();
    for e in &args.etats {
        match State::from_key(e) {
            Some(s) => etats.push(s),
            None => {
                eprintln!(
                    "{}",
                    tf("ligne_de_commande.valeur_invalide", &[("valeur", e)])
                );
                return 2;
            }
        }
    }
    let Some(tri) = tri_of(&args.tri) else {
        eprintln!(
            "{}",
            tf("envois.tri_inconnu", &[("valeur", args.tri.trim())])
        );
        return 2;
    };
    // A collectivité is named as everywhere else (name or SIREN among those set): an unknown
    // one is an error that lists them, never an empty list that looks like « nothing sent ».
    let siren = match &args.collectivite {
        None => None,
        Some(choice) => {
            match crate::settings::Settings::load().and_then(|s| s.for_collectivite(Some(choice))) {
                Ok(s) => s.collectivite.siren.clone(),
                Err(e) => return super::error(&e.to_string()),
            }
        }
    };
    let items = match outbox.list(&Filter {
        etats,
        limite: Some(args.limite),
        chercher: args.chercher.clone(),
        siren,
        tri,
        croissant: args.croissant,
        ..Default::default()
    }) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            return 2;
        }
    };
    let copies = outbox.copies_size();
    if args.json {
        // Each item with the name of its collectivité, as the settings call it (several may be
        // served from this workstation); a settings file unreadable here only loses the names.
        let settings = crate::settings::Settings::load().ok();
        let named: Vec<serde_json::Value> = items
            .iter()
            .map(|item| {
                let mut value = serde_json::to_value(item).unwrap_or_default();
                let nom = item
                    .siren
                    .as_deref()
                    .and_then(|siren| settings.as_ref()?.collectivite_name(siren));
                if let Some(fields) = value.as_object_mut() {
                    fields.insert("collectivite".into(), nom.into());
                }
                value
            })
            .collect();
        let doc = serde_json::json!({ "envois": named, "espace_copies_octets": copies });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if items.is_empty() {
        println!("{}", t("gui.envois_vide"));
    } else {
        println!(
            "{}",
            tf(
                "envois.espace_copies",
                &[("taille", &crate::actes::messages::human_size(copies))]
            )
        );
        for i in &items {
            println!(
                "{:>6}  {:<40}  {:<16}  {}  {}",
                i.id,
                i.libelle,
                i.numero_interne.as_deref().unwrap_or(""),
                i.state_label(),
                // Stored in UTC (and so in --json); shown on the local clock.
                crate::clock::local_datetime_fr(&i.modifie_le)
                    .unwrap_or_else(|| i.modifie_le.clone())
            );
        }
    }
    0
}

/// `paraphe envois exporter ID… -o LOT`: the lot's manifest signed with the card (signature key,
/// or authentication key with `--authentification`) or a `.p12`, unless `--sans-signature`.
pub fn exporter(args: &ExportArgs) -> i32 {
    use crate::certs::Role;
    use crate::usecases::KeyToOpen;
    use crate::usecases::lots::export_lot;
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return super::error(&e.to_string()),
    };
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let key = if args.sans_signature {
        None
    } else {
        let role = if args.authentification {
            Role::Authentification
        } else {
            Role::Signature
        };
        match args.cle.choice(&settings, role) {
            Ok(choice) => Some(KeyToOpen {
                choice,
                role,
                prompt: args.cle.prompt(),
            }),
            Err(message) => return super::error(&message),
        }
    };
    let who = crate::platform::sender::who();
    match export_lot(&mut outbox, &args.nom, &args.ids, &args.sortie, &who, key) {
        Ok(done) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&done).unwrap_or_default()
                );
                return 0;
            }
            println!(
                "{}",
                tf(
                    "envois.lot_exporte",
                    &[("chemin", &args.sortie.display().to_string())]
                )
            );
            match &done.signataire {
                Some(s) => println!("{}", tf("envois.lot_signe_exporte", &[("signataire", s)])),
                None => eprintln!(
                    "{} : {}",
                    t("commun.avertissement"),
                    t("envois.lot_pas_de_signature")
                ),
            }
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

/// `paraphe envois importer LOT`: the lot checked whole (files, manifest, signature, signer's
/// authority) before anything enters the outbox.
pub fn importer(args: &ImportArgs) -> i32 {
    use crate::usecases::lots::{import_lot, trust_store};
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return super::error(&e.to_string()),
    };
    let trust = match trust_store(args.confiance.as_deref(), &settings) {
        Ok(t) => t,
        Err(message) => return super::error(&message),
    };
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let who = crate::platform::sender::who();
    match import_lot(
        &mut outbox,
        &args.fichier,
        trust.as_ref(),
        args.accepter_non_signe,
        &who,
    ) {
        Ok(done) => {
            let states: Vec<serde_json::Value> = done
                .ids
                .iter()
                .map(|id| {
                    let etat = outbox.get(*id).map(|i| i.etat.key()).unwrap_or_default();
                    serde_json::json!({ "id": id, "etat": etat })
                })
                .collect();
            if args.json {
                let o = &done.origine;
                let doc = serde_json::json!({
                    "nom": o.nom,
                    "signe": o.signe,
                    "signataire": o.signataire,
                    "prepare_par": o.prepare_par,
                    "prepare_le": o.prepare_le,
                    "importes": states,
                });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!("{}", done.origine.describe());
                println!(
                    "{}",
                    tf("envois.lot_importe", &[("n", &done.ids.len().to_string())])
                );
            }
            if args.json && !done.origine.signe {
                eprintln!(
                    "{} : {}",
                    t("commun.avertissement"),
                    t("envois.lot_risque_non_signe")
                );
            }
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            if matches!(e, crate::outbox::OutboxError::UnsignedLot) {
                eprintln!("{}", t("envois.lot_non_signe_option"));
            }
            1
        }
    }
}

/// `paraphe envois retirer ID` and `paraphe envois relancer ID`: what the window's buttons do.
fn change_item(
    args: &ItemArgs,
    change: fn(&mut Outbox, i64, &str) -> Result<State, crate::outbox::OutboxError>,
) -> i32 {
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let who = crate::platform::sender::who();
    match change(&mut outbox, args.id, &who) {
        Ok(etat) => {
            if args.json {
                let doc = serde_json::json!({ "id": args.id, "etat": etat });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!("{}", etat.said_of(args.id));
            }
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Numéro de l'envoi (un PES « transmis, à rattacher », voir `paraphe envois lister`).
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Numéro de la transaction Hélios sur la plateforme (lu dans son interface web).
    #[arg(value_name = "TRANSACTION")]
    pub transaction: String,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
}

/// `paraphe envois rattacher ID TRANSACTION`: a duplicate PES attached to its transaction.
pub fn rattacher(args: &AttachArgs) -> i32 {
    let mut outbox = match open() {
        Ok(o) => o,
        Err(code) => return code,
    };
    let who = crate::platform::sender::who();
    match outbox.attach_transaction(args.id, &args.transaction, &who) {
        Ok(()) => {
            if args.json {
                let doc = serde_json::json!({
                    "id": args.id,
                    "etat": State::Envoye,
                    "id_plateforme": args.transaction.trim(),
                });
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            } else {
                println!(
                    "{}",
                    tf(
                        "envois.rattache",
                        &[
                            ("id", &args.id.to_string()),
                            ("transaction", args.transaction.trim())
                        ]
                    )
                );
            }
            0
        }
        Err(e) => {
            eprintln!("{} : {e}", t("commun.erreur"));
            1
        }
    }
}

pub fn retirer(args: &ItemArgs) -> i32 {
    change_item(args, Outbox::withdraw)
}

pub fn relancer(args: &ItemArgs) -> i32 {
    change_item(args, Outbox::retry_now)
}

pub fn liberer(args: &ItemArgs) -> i32 {
    change_item(args, Outbox::release)
}

#[derive(Debug, clap::Args)]
pub struct SignItemsArgs {
    /// Numéros des envois préparés à signer (voir `paraphe envois lister --etat prepare`).
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
    #[command(flatten)]
    pub details: super::SignerDetailsArgs,
    /// Signe chaque PES entier (une signature globale) au lieu de chacun de ses bordereaux.
    #[arg(long)]
    pub global: bool,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cle: super::KeyArgs,
}

/// `paraphe envois signer ID…`: signs prepared PES and acts with one PIN for all, each on the
/// outbox's own copy, then puts them in the queue (see [`crate::usecases::sign_items`]). An item
/// that fails stays `préparé`, its copy untouched.
pub fn signer(args: &SignItemsArgs) -> i32 {
    use crate::card::select::open_for_role;
    use crate::certs::Role;
    use crate::outbox::Kind;
    use crate::usecases::sign_items::{PesSigning, sign_items, signable};
    let error = |message: String| {
        eprintln!("{} : {message}", t("commun.erreur"));
        2
    };
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => return error(e.to_string()),
    };
    let mut outbox = match Outbox::open_default() {
        Ok(o) => o,
        Err(e) => return error(e.to_string()),
    };
    // Every item is checked before the card is asked anything.
    let items = match signable(&outbox, &args.ids) {
        Ok(items) => items,
        Err(message) => return error(message),
    };
    // The signer's role and place are needed for PES only.
    let pes = if items.iter().any(|i| i.genre == Kind::Pes) {
        match super::pes::signing_details(&args.details, &settings) {
            Ok((details, profile)) => Some(PesSigning {
                details,
                profile,
                global: args.global,
            }),
            Err(message) => return error(message),
        }
    } else {
        None
    };
    let choice = match args.cle.choice(&settings, Role::Signature) {
        Ok(c) => c,
        Err(message) => return error(message),
    };
    // One key, one login: one PIN for all the items.
    let mut key = match open_for_role(&choice, Role::Signature, args.cle.prompt()) {
        Ok(k) => k,
        Err(e) => return error(e.to_string()),
    };
    let who = crate::platform::sender::who();
    let outcomes = sign_items(
        &mut outbox,
        &items,
        &mut *key,
        pes.as_ref(),
        &settings,
        &who,
    );
    let failed = outcomes.iter().any(|o| o.error.is_some());
    if args.json {
        let lines: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "id": o.id,
                    "etat": o.state.key(),
                    "constats": o.findings,
                    "erreur": o.error,
                })
            })
            .collect();
        let doc = serde_json::json!({ "envois": lines });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for o in &outcomes {
            for f in &o.findings {
                eprintln!("{}", super::finding_line(f));
            }
            match &o.error {
                None if o.state == State::Signe => println!(
                    "{}",
                    tf("envoi.cli.signe_hors_file", &[("id", &o.id.to_string())])
                ),
                None => println!(
                    "{}",
                    tf("envoi.cli.signe_en_file", &[("id", &o.id.to_string())])
                ),
                Some(e) => eprintln!(
                    "{} : {}",
                    t("commun.erreur"),
                    tf(
                        "envoi.cli.signature_echouee",
                        &[("id", &o.id.to_string()), ("detail", e)]
                    )
                ),
            }
        }
    }
    if failed { 1 } else { 0 }
}
