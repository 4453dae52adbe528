//! Settings: one TOML file in the user's configuration folder. Data (outbox, classification,
//! logs) lives in the data folder. `PARAPHE_CONFIG` and `PARAPHE_DONNEES` override both (tests,
//! portable installs).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub carte: CardSettings,
    pub verification: VerificationSettings,
    pub pes: PesSettings,
    /// The collectivité acts are sent for; with several (`[[collectivites]]`), the one chosen
    /// for the command ([`Settings::for_collectivite`]).
    pub collectivite: CollectiviteSettings,
    /// More collectivités served from this workstation (a secrétaire for several communes, a
    /// syndicat for its members): each with the keys of `[collectivite]` and a `nom`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collectivites: Vec<CollectiviteSettings>,
    pub plateforme: PlatformSettings,
    pub signature: SignatureSettings,
    pub envois: EnvoisSettings,
    pub actes: ActesSettings,
}

/// `[actes]`: how an act prepared to be signed (`envois ajouter acte --a-signer`) is signed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ActesSettings {
    /// `cms` (a detached signature per file, sent beside it), `pades` (the act's PDF signed
    /// inside) or `aucune` (signed on paper). Unset: `cms` with S²LOW, `pades` with STELA, which
    /// takes no detached signature.
    pub signature: Option<ActSignature>,
}

/// How an act is signed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ActSignature {
    Cms,
    Pades,
    Aucune,
}

impl ActesSettings {
    /// The signature chosen, or the one the platform takes.
    pub fn signature_for(&self, platform: &PlatformSettings) -> ActSignature {
        self.signature.unwrap_or(match platform.genre {
            PlatformKind::S2low => ActSignature::Cms,
            PlatformKind::Stela => ActSignature::Pades,
        })
    }
}

/// `[envois]`: what the outbox keeps, and whether signing queues.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EnvoisSettings {
    /// Remove the outbox's copies of the files of items acknowledged this many days ago (None:
    /// keep them, the default — a signed act with its accusé de réception is an archival record).
    /// What came back and the journal are always kept.
    pub supprimer_copies_apres_jours: Option<u32>,
    /// Keep a signed item `signé` instead of queueing it at once: someone releases it later
    /// (`envois liberer`, « Mettre en file »), when a mairie wants a last look after the maire
    /// signed — the signature and the sending are then two decisions.
    pub liberation_manuelle: bool,
}

/// `[signature]`: who signs PES bordereaux and where (XAdES SignerRole and
/// SignatureProductionPlace), and the profile; the command line may override each.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SignatureSettings {
    /// Qualité du signataire, e.g. « Ordonnateur », « Maire ».
    pub role: Option<String>,
    pub ville: Option<String>,
    pub code_postal: Option<String>,
    /// `sha256` (policy 1.7, default) or `sha1` (policy 1.4).
    pub profil: Option<String>,
}

/// The collectivité that sends acts (ACTES envelope) and how its archives are named.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CollectiviteSettings {
    /// The name a person calls it by (« Commune d'Arles »): how it is chosen with
    /// `--collectivite` when several are set.
    pub nom: Option<String>,
    /// SIREN, 9 digits.
    pub siren: Option<String>,
    /// Département on 3 characters (`034`, `02A`, `974`).
    pub departement: Option<String>,
    /// Arrondissement, 1 digit.
    pub arrondissement: Option<String>,
    /// Nature of the collectivité, 2 digits.
    pub nature: Option<String>,
    pub referent_nom: Option<String>,
    pub referent_telephone: Option<String>,
    pub referent_email: Option<String>,
    /// Addresses the préfecture answers to.
    pub emails_retour: Vec<String>,
    /// The `IdColl` (SIRET) its PES are sent under: a PES with another is flagged before it is
    /// signed or queued (a secrétaire of several communes opens the wrong export easily).
    pub id_coll: Vec<String>,
    /// Prefix of archive names (`SIC` for STELA).
    pub trigramme: String,
    /// Application name of envelope names (`TACT` in S²LOW, `EACT` in STELA).
    pub application: String,
    /// Largest envoi accepted, in bytes (20 Mo in the service description).
    pub limite_envoi_octets: u64,
    /// How archive members are named: `s2low` (decision date) or `stela` (current date).
    pub style_noms: StyleNoms,
    /// Document files named with their typology code first (`99_DE-…`, the default).
    pub prefixe_typologie: bool,
}

impl Default for CollectiviteSettings {
    fn default() -> Self {
        CollectiviteSettings {
            nom: None,
            siren: None,
            departement: None,
            arrondissement: None,
            nature: None,
            referent_nom: None,
            referent_telephone: None,
            referent_email: None,
            emails_retour: Vec::new(),
            id_coll: Vec::new(),
            trigramme: "PAR".to_owned(),
            application: "TACT".to_owned(),
            limite_envoi_octets: 20_000_000,
            style_noms: StyleNoms::S2low,
            prefixe_typologie: true,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PesSettings {
    /// The DGFiP's `PES_Aller.xsd` (with its folder of included schemas), instead of the one
    /// shipped inside the program.
    pub schema: Option<PathBuf>,
    /// The collectivité still signs its bordereaux on paper: an unsigned PES may be queued (with
    /// a warning) instead of being refused at the outbox's door.
    pub bordereaux_signes_sur_papier: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationSettings {
    /// Trusted certification authorities for signers (a PEM file or a folder).
    pub confiance: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CardSettings {
    /// PKCS#11 module to use first (the middleware of the user's card).
    pub module: Option<PathBuf>,
    /// Label of the token to use when several are plugged in.
    pub jeton: Option<String>,
    /// CKA_ID (hex) of the key chosen for each role, when the user overrides the automatic choice.
    pub cle_signature: Option<String>,
    pub cle_authentification: Option<String>,
    pub cle_chiffrement: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{}", crate::messages::t("commun.dossier_introuvable"))]
    NoHome,
    #[error("{}", crate::messages::tf("commun.fichier_reglages_invalide", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Invalid { path: PathBuf, detail: String },
    #[error("{}", crate::messages::tf("commun.reglages_ecriture", &[("chemin", &.path.display().to_string()), ("detail", .detail)]))]
    Write { path: PathBuf, detail: String },
    /// Several collectivités are set and none was chosen (their names).
    #[error("{}", crate::messages::tf("collectivites.a_choisir", &[("liste", .0)]))]
    CollectiviteToChoose(String),
    /// The collectivité asked for is not set (what was asked, the names set).
    #[error("{}", crate::messages::tf("collectivites.inconnue", &[("choix", .0), ("liste", .1)]))]
    UnknownCollectivite(String, String),
}

impl CollectiviteSettings {
    /// Whether anything identifies it (a settings file without `[collectivite]` has none).
    fn is_set(&self) -> bool {
        self.siren.as_deref().is_some_and(|s| !s.trim().is_empty())
            || self.nom.as_deref().is_some_and(|n| !n.trim().is_empty())
    }

    /// Its short name, where room is scarce (a sidebar, a list's column): its name, else its
    /// SIREN (« ? » when neither is set).
    pub fn short_name(&self) -> String {
        match self.nom.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(nom) => nom.to_owned(),
            None => self.label(),
        }
    }

    /// How it is named to a person: « nom (SIREN) », or whichever of the two is set.
    pub fn label(&self) -> String {
        let nom = self.nom.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let siren = self
            .siren
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (nom, siren) {
            (Some(nom), Some(siren)) => format!("{nom} ({siren})"),
            (Some(one), None) | (None, Some(one)) => one.to_owned(),
            (None, None) => "?".to_owned(),
        }
    }

    /// Whether `choice` names it: its SIREN, or its name regardless of case and spaces around.
    fn answers_to(&self, choice: &str) -> bool {
        let choice = choice.trim();
        self.siren.as_deref().is_some_and(|s| s.trim() == choice)
            || self
                .nom
                .as_deref()
                .is_some_and(|n| n.trim().to_lowercase() == choice.to_lowercase())
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("fr", "Paraphe", "Paraphe")
}

/// The settings file's path.
pub fn config_file() -> Result<PathBuf, SettingsError> {
    if let Some(path) = std::env::var_os("PARAPHE_CONFIG") {
        return Ok(PathBuf::from(path));
    }
    project_dirs()
        .map(|d| d.config_dir().join("paraphe.toml"))
        .ok_or(SettingsError::NoHome)
}

/// The data folder (outbox, logs, classification).
pub fn data_dir() -> Result<PathBuf, SettingsError> {
    if let Some(path) = std::env::var_os("PARAPHE_DONNEES") {
        return Ok(PathBuf::from(path));
    }
    project_dirs()
        .map(|d| d.data_dir().to_owned())
        .ok_or(SettingsError::NoHome)
}

impl Settings {
    /// Every collectivité set on this workstation: `[collectivite]` when it names one, then each
    /// `[[collectivites]]`, in the file's order.
    pub fn collectivites_reglees(&self) -> Vec<&CollectiviteSettings> {
        std::iter::once(&self.collectivite)
            .filter(|c| c.is_set())
            .chain(self.collectivites.iter())
            .collect()
    }

    /// These settings for one collectivité: the one `choice` names (a SIREN or a name), put in
    /// place of `[collectivite]` so that everything read from there — envelope, archive names,
    /// size limit, classification by SIREN — is that collectivité's. Without a choice: the only
    /// one set, or the settings as they are when none is; several set and none chosen is an
    /// error that lists them, never a silent pick (an act sent under another commune's SIREN
    /// is a real harm).
    pub fn for_collectivite(mut self, choice: Option<&str>) -> Result<Settings, SettingsError> {
        // The chosen one is swapped into `[collectivite]`, the others kept: a batch may still
        // name another collectivité row by row.
        match choice.map(str::trim).filter(|c| !c.is_empty()) {
            Some(choice) => self.make_current(choice)?,
            None => match self.collectivites_reglees().as_slice() {
                [] => {}
                [only] => {
                    let key = only.siren.clone().or_else(|| only.nom.clone());
                    if let Some(key) = key {
                        self.make_current(&key)?;
                    }
                }
                _ => {
                    return Err(SettingsError::CollectiviteToChoose(
                        self.collectivite_labels(),
                    ));
                }
            },
        }
        Ok(self)
    }

    /// Make the collectivité `choice` names (a SIREN or a name) the one of `[collectivite]`, the
    /// one the window works for: the previous one takes its place in `[[collectivites]]`, so
    /// nothing is lost and the order of the others stays.
    pub fn make_current(&mut self, choice: &str) -> Result<(), SettingsError> {
        if self.collectivite.is_set() && self.collectivite.answers_to(choice) {
            return Ok(());
        }
        let Some(index) = self.collectivites.iter().position(|c| c.answers_to(choice)) else {
            return Err(SettingsError::UnknownCollectivite(
                choice.to_owned(),
                self.collectivite_labels(),
            ));
        };
        let chosen = self.collectivites.remove(index);
        let previous = std::mem::replace(&mut self.collectivite, chosen);
        if previous.is_set() {
            self.collectivites.insert(index, previous);
        }
        Ok(())
    }

    /// Every collectivité set, as a person reads them in a message: « Nice (210600730), … ».
    fn collectivite_labels(&self) -> String {
        self.collectivites_reglees()
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The name of the collectivité whose SIREN is `siren`, when one is set with a name.
    pub fn collectivite_name(&self, siren: &str) -> Option<String> {
        self.collectivites_reglees()
            .into_iter()
            .find(|c| c.siren.as_deref().is_some_and(|s| s.trim() == siren.trim()))
            .and_then(|c| c.nom.clone())
    }

    /// Read the settings; a missing file means defaults.
    pub fn load() -> Result<Settings, SettingsError> {
        Self::load_from(&config_file()?)
    }

    pub fn load_from(path: &Path) -> Result<Settings, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| SettingsError::Invalid {
                path: path.to_owned(),
                detail: e.message().to_owned(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(SettingsError::Invalid {
                path: path.to_owned(),
                detail: e.to_string(),
            }),
        }
    }
}

impl Settings {
    /// Write the settings to their file.
    pub fn save(&self) -> Result<PathBuf, SettingsError> {
        let path = config_file()?;
        self.save_to(&path)?;
        Ok(path)
    }

    /// Write the settings to `path`: readable by the user only (the file names the user's card,
    /// platform account and collectivité), written beside it then renamed, so that a crash never
    /// leaves half a file.
    pub fn save_to(&self, path: &Path) -> Result<(), SettingsError> {
        let error = |detail: String| SettingsError::Write {
            path: path.to_owned(),
            detail,
        };
        let text = toml::to_string_pretty(self).map_err(|e| error(e.to_string()))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
        let mut temp = crate::files::temp_in(dir, "reglages").map_err(|e| error(e.to_string()))?;
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(|e| error(e.to_string()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| error(e.to_string()))?;
        temp.persist(path).map_err(|e| error(e.error.to_string()))?;
        Ok(())
    }
}

/// `[plateforme]` in the settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformSettings {
    /// Which API the platform speaks: `s2low` (ACTES and Hélios) or `stela` (ACTES).
    pub genre: PlatformKind,
    /// Address of the platform, e.g. `https://s2low.example.fr`.
    pub adresse: Option<String>,
    /// PEM file of the certificate authorities that sign the platform's server certificate
    /// (otherwise the system's trust store).
    pub ca: Option<PathBuf>,
    /// Optional HTTP login (some accounts require one besides the certificate); its password is
    /// asked at connection, never stored.
    pub identifiant: Option<String>,
    /// The account requires each transmission to be confirmed with the login (S²LOW's nonce
    /// confirmation): acts are created waiting, then confirmed.
    pub confirmation: bool,
    /// Seconds before a request with no answer is abandoned.
    pub delai_secondes: u64,
    /// Wait before the first new attempt after a failure (doubling up to the last).
    pub premier_nouvel_essai_secondes: f64,
    pub dernier_nouvel_essai_secondes: f64,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        PlatformSettings {
            genre: PlatformKind::S2low,
            adresse: None,
            ca: None,
            identifiant: None,
            confirmation: false,
            delai_secondes: 60,
            premier_nouvel_essai_secondes: 5.0,
            dernier_nouvel_essai_secondes: 900.0,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    S2low,
    Stela,
}

/// Which platform's naming to follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StyleNoms {
    /// Decision date in the names of the message and documents.
    #[default]
    S2low,
    /// Current date everywhere.
    Stela,
}

impl StyleNoms {
    pub fn parse(text: &str) -> Option<StyleNoms> {
        match text.trim().to_ascii_lowercase().as_str() {
            "s2low" | "s²low" => Some(StyleNoms::S2low),
            "stela" => Some(StyleNoms::Stela),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(nom: &str, siren: &str) -> CollectiviteSettings {
        CollectiviteSettings {
            nom: Some(nom.to_owned()),
            siren: Some(siren.to_owned()),
            ..CollectiviteSettings::default()
        }
    }

    /// Switching the current collectivité (the window's choice) swaps it with `[collectivite]`:
    /// every collectivité is still there, in the same places, written and read back the same.
    #[test]
    fn the_current_collectivite_is_switched_without_losing_any() {
        let mut settings = Settings {
            collectivite: named("Fontvieille", "211300397"),
            collectivites: vec![
                named("Paradou", "211300686"),
                named("Maussane", "211300587"),
            ],
            ..Settings::default()
        };
        settings.make_current("211300587").expect("by SIREN");
        let labels = |s: &Settings| {
            s.collectivites_reglees()
                .iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels(&settings),
            [
                "Maussane (211300587)",
                "Paradou (211300686)",
                "Fontvieille (211300397)"
            ]
        );
        settings.make_current("paradou").expect("by name");
        assert_eq!(settings.collectivite.label(), "Paradou (211300686)");
        assert_eq!(labels(&settings).len(), 3);
        assert!(matches!(
            settings.make_current("Tarascon"),
            Err(SettingsError::UnknownCollectivite(..))
        ));
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("paraphe.toml");
        settings.save_to(&path).expect("save");
        assert_eq!(Settings::load_from(&path).expect("load"), settings);
    }

    #[test]
    fn saved_settings_read_back_the_same_and_are_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sous-dossier/paraphe.toml");
        let mut settings = Settings::default();
        settings.collectivite.siren = Some("210600730".to_owned());
        settings.collectivite.emails_retour = vec!["actes@mairie.test".to_owned()];
        settings.plateforme.adresse = Some("https://s2low.example.test".to_owned());
        settings.carte.jeton = Some("MAIRIE".to_owned());
        settings.save_to(&path).expect("save");
        assert_eq!(Settings::load_from(&path).expect("load"), settings);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "private");
        }
    }

    #[test]
    fn missing_file_is_defaults_and_bad_file_is_a_french_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("paraphe.toml");
        assert_eq!(
            Settings::load_from(&path).expect("defaults"),
            Settings::default()
        );
        std::fs::write(
            &path,
            "[carte]\nmodule = \"/usr/lib/x.so\"\njeton = \"MAIRIE\"\n",
        )
        .expect("write");
        let s = Settings::load_from(&path).expect("valid");
        assert_eq!(s.carte.jeton.as_deref(), Some("MAIRIE"));
        std::fs::write(&path, "[carte]\nmodul = 3\n").expect("write");
        let err = Settings::load_from(&path).expect_err("unknown key");
        assert!(
            err.to_string().contains("Le fichier de paramètres"),
            "{err}"
        );
    }
}
