//! Paramètres: the collectivité's identity, the platform, the card's module, the trust store and
//! the PES schema, read from and written to the settings file (off the UI thread). Fields the
//! screen does not show are kept as they are in the file.

use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::platform::PlatformKind;
use crate::settings::Settings;
use iced::widget::{button, column, pick_list, row, text, text_input};
use iced::{Element, Length, Task};
use std::path::PathBuf;

/// A platform kind as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind(PlatformKind);

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            PlatformKind::S2low => "S²LOW",
            PlatformKind::Stela => "STELA",
        })
    }
}

const KINDS: [Kind; 2] = [Kind(PlatformKind::S2low), Kind(PlatformKind::Stela)];

/// The editable fields, as typed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fields {
    nom: String,
    siren: String,
    departement: String,
    arrondissement: String,
    nature: String,
    referent_nom: String,
    referent_telephone: String,
    referent_email: String,
    emails_retour: String,
    genre: Option<Kind>,
    adresse: String,
    ca: String,
    identifiant: String,
    module: String,
    jeton: String,
    confiance: String,
    schema: String,
    role: String,
    ville: String,
    code_postal: String,
}

fn text_of(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn path_of(value: &Option<PathBuf>) -> String {
    value
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

fn optional_path(value: &str) -> Option<PathBuf> {
    optional(value).map(PathBuf::from)
}

impl Fields {
    fn from_settings(s: &Settings) -> Self {
        let c = &s.collectivite;
        Fields {
            nom: text_of(&c.nom),
            siren: text_of(&c.siren),
            departement: text_of(&c.departement),
            arrondissement: text_of(&c.arrondissement),
            nature: text_of(&c.nature),
            referent_nom: text_of(&c.referent_nom),
            referent_telephone: text_of(&c.referent_telephone),
            referent_email: text_of(&c.referent_email),
            emails_retour: c.emails_retour.join(", "),
            genre: Some(Kind(s.plateforme.genre)),
            adresse: text_of(&s.plateforme.adresse),
            ca: path_of(&s.plateforme.ca),
            identifiant: text_of(&s.plateforme.identifiant),
            module: path_of(&s.carte.module),
            jeton: text_of(&s.carte.jeton),
            confiance: path_of(&s.verification.confiance),
            schema: path_of(&s.pes.schema),
            role: text_of(&s.signature.role),
            ville: text_of(&s.signature.ville),
            code_postal: text_of(&s.signature.code_postal),
        }
    }

    /// What is wrong with the fields, in French, naming each one; empty when they can be saved.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let digits = |v: &str, n: usize| v.len() == n && v.bytes().all(|b| b.is_ascii_digit());
        let siren = self.siren.trim();
        if !siren.is_empty() && !digits(siren, 9) {
            problems.push(t("gui.parametres_siren"));
        }
        let departement = self.departement.trim();
        let departement_ok =
            departement.len() == 3 && departement.bytes().all(|b| b.is_ascii_alphanumeric());
        if !departement.is_empty() && !departement_ok {
            problems.push(t("gui.parametres_departement"));
        }
        let arrondissement = self.arrondissement.trim();
        if !arrondissement.is_empty() && !digits(arrondissement, 1) {
            problems.push(t("gui.parametres_arrondissement"));
        }
        let nature = self.nature.trim();
        if !nature.is_empty() && !digits(nature, 2) {
            problems.push(t("gui.parametres_nature"));
        }
        let code_postal = self.code_postal.trim();
        if !code_postal.is_empty() && !digits(code_postal, 5) {
            problems.push(t("gui.parametres_code_postal"));
        }
        let adresse = self.adresse.trim();
        if !adresse.is_empty() && !adresse.starts_with("https://") {
            problems.push(t("gui.parametres_adresse"));
        }
        for email in self
            .emails_retour
            .split([',', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .chain(optional(&self.referent_email).as_deref())
        {
            if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
                problems.push(tf("gui.parametres_email", &[("adresse", email)]));
            }
        }
        problems
    }

    /// The settings with these fields, everything else as it was.
    fn apply(&self, mut s: Settings) -> Settings {
        let c = &mut s.collectivite;
        c.nom = optional(&self.nom);
        c.siren = optional(&self.siren);
        c.departement = optional(&self.departement);
        c.arrondissement = optional(&self.arrondissement);
        c.nature = optional(&self.nature);
        c.referent_nom = optional(&self.referent_nom);
        c.referent_telephone = optional(&self.referent_telephone);
        c.referent_email = optional(&self.referent_email);
        c.emails_retour = self
            .emails_retour
            .split([',', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(Kind(genre)) = self.genre {
            s.plateforme.genre = genre;
        }
        s.plateforme.adresse = optional(&self.adresse);
        s.plateforme.ca = optional_path(&self.ca);
        s.plateforme.identifiant = optional(&self.identifiant);
        s.carte.module = optional_path(&self.module);
        s.carte.jeton = optional(&self.jeton);
        s.verification.confiance = optional_path(&self.confiance);
        s.pes.schema = optional_path(&self.schema);
        s.signature.role = optional(&self.role);
        s.signature.ville = optional(&self.ville);
        s.signature.code_postal = optional(&self.code_postal);
        s
    }
}

#[derive(Default)]
pub struct State {
    /// The settings as read (kept to write back what the screen does not show).
    loaded: Option<Settings>,
    fields: Fields,
    /// The file to read and write; None: the user's settings file.
    path: Option<PathBuf>,
    busy: bool,
    status: Option<Result<String, Vec<String>>>,
    /// The card PIN and the platform password for the connection test, wiped once handed over.
    pin: zeroize::Zeroizing<String>,
    password: zeroize::Zeroizing<String>,
    /// A connection test under way, or what the last one said.
    testing: bool,
    tested: Option<Result<String, String>>,
}

#[derive(Debug, Clone)]
pub enum Field {
    Nom,
    Siren,
    Departement,
    Arrondissement,
    Nature,
    ReferentNom,
    ReferentTelephone,
    ReferentEmail,
    EmailsRetour,
    Adresse,
    Ca,
    Identifiant,
    Module,
    Jeton,
    Confiance,
    Schema,
    Role,
    Ville,
    CodePostal,
}

#[derive(Debug, Clone)]
pub enum Message {
    Load,
    Loaded(Option<Result<Box<Settings>, String>>),
    Edit(Field, String),
    Genre(Kind),
    Save,
    Saved(Option<Result<PathBuf, String>>),
    PinChanged(crate::gui::Secret),
    PasswordChanged(crate::gui::Secret),
    Test,
    Tested(Option<Result<String, String>>),
}

/// Connect with the settings as typed (saved or not) and the card's authentication key, and
/// ask the platform's test call.
fn test_platform(
    settings: Settings,
    pin: zeroize::Zeroizing<String>,
    password: zeroize::Zeroizing<String>,
) -> Result<String, String> {
    let platform = crate::gui::connect_platform(&settings, pin, password, None)?;
    platform.test_connection().map_err(|e| e.to_string())
}

fn read(path: Option<PathBuf>) -> Result<Box<Settings>, String> {
    match path {
        Some(p) => Settings::load_from(&p),
        None => Settings::load(),
    }
    .map(Box::new)
    .map_err(|e| e.to_string())
}

fn write(settings: Settings, path: Option<PathBuf>) -> Result<PathBuf, String> {
    match path {
        Some(p) => settings.save_to(&p).map(|()| p),
        None => settings.save(),
    }
    .map_err(|e| e.to_string())
}

impl State {
    /// What a first launch must still set up, in the person's words (empty once the settings
    /// are read and name a collectivité and a platform).
    pub fn setup_gaps(&self) -> Vec<String> {
        let Some(settings) = &self.loaded else {
            return Vec::new();
        };
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        let mut gaps = Vec::new();
        if blank(&settings.collectivite.siren) {
            gaps.push(t("gui.accueil_regler_collectivite"));
        }
        if blank(&settings.plateforme.adresse) {
            gaps.push(t("gui.accueil_regler_plateforme"));
        }
        gaps
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Load => {
                let path = self.path.clone();
                return Task::perform(background(move || read(path)), Message::Loaded);
            }
            Message::Loaded(Some(Ok(settings))) => {
                self.fields = Fields::from_settings(&settings);
                self.loaded = Some(*settings);
            }
            Message::Loaded(Some(Err(e))) => self.status = Some(Err(vec![e])),
            Message::Loaded(None) => {}
            Message::Edit(field, value) => {
                let f = &mut self.fields;
                let slot = match field {
                    Field::Nom => &mut f.nom,
                    Field::Siren => &mut f.siren,
                    Field::Departement => &mut f.departement,
                    Field::Arrondissement => &mut f.arrondissement,
                    Field::Nature => &mut f.nature,
                    Field::ReferentNom => &mut f.referent_nom,
                    Field::ReferentTelephone => &mut f.referent_telephone,
                    Field::ReferentEmail => &mut f.referent_email,
                    Field::EmailsRetour => &mut f.emails_retour,
                    Field::Adresse => &mut f.adresse,
                    Field::Ca => &mut f.ca,
                    Field::Identifiant => &mut f.identifiant,
                    Field::Module => &mut f.module,
                    Field::Jeton => &mut f.jeton,
                    Field::Confiance => &mut f.confiance,
                    Field::Schema => &mut f.schema,
                    Field::Role => &mut f.role,
                    Field::Ville => &mut f.ville,
                    Field::CodePostal => &mut f.code_postal,
                };
                *slot = value;
                self.status = None;
            }
            Message::Genre(kind) => self.fields.genre = Some(kind),
            Message::Save if !self.busy => {
                let problems = self.fields.problems();
                if !problems.is_empty() {
                    self.status = Some(Err(problems));
                    return Task::none();
                }
                self.busy = true;
                let settings = self.fields.apply(self.loaded.clone().unwrap_or_default());
                let path = self.path.clone();
                return Task::perform(background(move || write(settings, path)), Message::Saved);
            }
            Message::Save => {}
            Message::PinChanged(pin) => self.pin = pin.into_zeroizing(),
            Message::PasswordChanged(p) => self.password = p.into_zeroizing(),
            Message::Test if !self.testing => {
                let problems = self.fields.problems();
                if !problems.is_empty() {
                    self.status = Some(Err(problems));
                    return Task::none();
                }
                self.testing = true;
                self.tested = None;
                let settings = self.fields.apply(self.loaded.clone().unwrap_or_default());
                let pin = std::mem::take(&mut self.pin);
                let password = std::mem::take(&mut self.password);
                return Task::perform(
                    background(move || test_platform(settings, pin, password)),
                    Message::Tested,
                );
            }
            Message::Test => {}
            Message::Tested(result) => {
                self.testing = false;
                self.tested = Some(result.unwrap_or_else(|| Err(t("gui.parametres_interrompu"))));
            }
            Message::Saved(result) => {
                self.busy = false;
                self.status = Some(match result {
                    Some(Ok(path)) => Ok(path.display().to_string()),
                    Some(Err(e)) => Err(vec![e]),
                    None => Err(vec![t("gui.parametres_interrompu")]),
                });
            }
        }
        Task::none()
    }

    fn input<'a>(&self, label: &str, value: &'a str, field: Field) -> Element<'a, Message> {
        row![
            text(t(label)).width(260).size(theme::TEXT),
            text_input(&t(label), value).on_input(move |v| Message::Edit(field.clone(), v)),
        ]
        .spacing(theme::GAP)
        .align_y(iced::alignment::Vertical::Center)
        .into()
    }

    /// PIN (and password when a login is set), "Tester la connexion", and what the test said.
    fn connection_test(&self) -> Element<'_, Message> {
        let mut bar = row![
            text_input(&t("gui.pin_authentification"), &self.pin)
                .secure(true)
                .on_input(|v| Message::PinChanged(v.into()))
                .on_submit(Message::Test)
                .width(240)
        ]
        .spacing(theme::GAP)
        .align_y(iced::alignment::Vertical::Center);
        if !self.fields.identifiant.trim().is_empty() {
            bar = bar.push(
                text_input(
                    &tf(
                        "gui.mot_de_passe_plateforme",
                        &[("identifiant", self.fields.identifiant.trim())],
                    ),
                    &self.password,
                )
                .secure(true)
                .on_input(|v| Message::PasswordChanged(v.into()))
                .on_submit(Message::Test)
                .width(280),
            );
        }
        let label = if self.testing {
            t("gui.parametres_test_en_cours")
        } else {
            t("gui.parametres_tester")
        };
        let mut press = button(text(label));
        if !self.testing {
            press = press.on_press(Message::Test);
        }
        let mut col = column![bar.push(press)].spacing(theme::GAP);
        match &self.tested {
            Some(Ok(words)) => {
                col = col.push(
                    text(tf("gui.parametres_test_reussi", &[("message", words)])).size(theme::TEXT),
                )
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        col.into()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let f = &self.fields;
        let mut col = column![
            text(t("gui.parametres_titre")).size(theme::TITLE),
            text(t("gui.parametres_collectivite")).size(theme::HEADING),
            self.input("gui.parametres_champ_nom", &f.nom, Field::Nom),
            self.input("gui.parametres_champ_siren", &f.siren, Field::Siren),
            self.input(
                "gui.parametres_champ_departement",
                &f.departement,
                Field::Departement
            ),
            self.input(
                "gui.parametres_champ_arrondissement",
                &f.arrondissement,
                Field::Arrondissement
            ),
            self.input("gui.parametres_champ_nature", &f.nature, Field::Nature),
            self.input(
                "gui.parametres_champ_referent",
                &f.referent_nom,
                Field::ReferentNom
            ),
            self.input(
                "gui.parametres_champ_telephone",
                &f.referent_telephone,
                Field::ReferentTelephone
            ),
            self.input(
                "gui.parametres_champ_email",
                &f.referent_email,
                Field::ReferentEmail
            ),
            self.input(
                "gui.parametres_champ_emails_retour",
                &f.emails_retour,
                Field::EmailsRetour
            ),
            text(t("gui.parametres_plateforme")).size(theme::HEADING),
            row![
                text(t("gui.parametres_champ_genre"))
                    .width(260)
                    .size(theme::TEXT),
                pick_list(KINDS, f.genre, Message::Genre),
            ]
            .spacing(theme::GAP)
            .align_y(iced::alignment::Vertical::Center),
            self.input("gui.parametres_champ_adresse", &f.adresse, Field::Adresse),
            self.input("gui.parametres_champ_ca", &f.ca, Field::Ca),
            self.input(
                "gui.parametres_champ_identifiant",
                &f.identifiant,
                Field::Identifiant
            ),
            self.connection_test(),
            text(t("gui.parametres_carte")).size(theme::HEADING),
            self.input("gui.parametres_champ_module", &f.module, Field::Module),
            self.input("gui.parametres_champ_jeton", &f.jeton, Field::Jeton),
            self.input(
                "gui.parametres_champ_confiance",
                &f.confiance,
                Field::Confiance
            ),
            self.input("gui.parametres_champ_schema", &f.schema, Field::Schema),
            text(t("gui.parametres_signature")).size(theme::HEADING),
            self.input("gui.signature_role", &f.role, Field::Role),
            self.input("gui.signature_ville", &f.ville, Field::Ville),
            self.input(
                "gui.signature_code_postal",
                &f.code_postal,
                Field::CodePostal
            ),
            button(text(t("gui.parametres_enregistrer"))).on_press(Message::Save),
        ]
        .spacing(theme::GAP);
        match &self.status {
            Some(Ok(path)) => {
                col = col.push(
                    text(tf("gui.parametres_enregistres", &[("chemin", path)])).size(theme::TEXT),
                )
            }
            Some(Err(problems)) => {
                for p in problems {
                    col = col.push(text(p.clone()).size(theme::TEXT));
                }
            }
            None => {}
        }
        theme::scrolling(col).height(Length::Fill).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;

    #[test]
    fn settings_are_read_checked_and_written_back_keeping_the_rest() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("paraphe.toml");
        let mut before = Settings::default();
        before.carte.cle_signature = Some("0a0b".to_owned());
        before.collectivite.siren = Some("210600730".to_owned());
        // Other collectivités of the workstation: kept as they are.
        before.collectivites = vec![crate::settings::CollectiviteSettings {
            nom: Some("Commune de Paradou".to_owned()),
            siren: Some("211300686".to_owned()),
            ..Default::default()
        }];
        before.save_to(&path).expect("save");
        let before_collectivites = before.collectivites.clone();
        let mut state = State {
            path: Some(path.clone()),
            ..State::default()
        };
        let _ = state.update(Message::Loaded(Some(read(Some(path.clone())))));
        {
            let mut ui = simulator(state.view());
            assert!(ui.find("210600730").is_ok(), "the SIREN read from the file");
        }
        // A wrong SIREN and an address without https are refused, in French, before writing.
        let _ = state.update(Message::Edit(Field::Siren, "21060073".to_owned()));
        let _ = state.update(Message::Edit(
            Field::Adresse,
            "http://s2low.example.test".to_owned(),
        ));
        let _ = state.update(Message::Save);
        assert!(!state.busy, "nothing written");
        {
            let mut ui = simulator(state.view());
            assert!(ui.find(t("gui.parametres_siren").as_str()).is_ok());
            assert!(ui.find(t("gui.parametres_adresse").as_str()).is_ok());
        }
        // Corrected: written, and what the screen does not show is kept.
        let _ = state.update(Message::Edit(Field::Siren, "210600731".to_owned()));
        let _ = state.update(Message::Edit(
            Field::Adresse,
            "https://s2low.example.test".to_owned(),
        ));
        let _ = state.update(Message::Genre(KINDS[1]));
        let _ = state.update(Message::Edit(Field::Role, "Maire".to_owned()));
        let _ = state.update(Message::Edit(Field::Nom, "Commune de Nice".to_owned()));
        let _ = state.update(Message::Edit(Field::CodePostal, "06000".to_owned()));
        let _ = state.update(Message::Edit(
            Field::EmailsRetour,
            "actes@mairie.test; dgs@mairie.test".to_owned(),
        ));
        let settings = state.fields.apply(state.loaded.clone().expect("loaded"));
        let _ = state.update(Message::Saved(Some(write(settings, Some(path.clone())))));
        let after = Settings::load_from(&path).expect("read back");
        assert_eq!(after.collectivite.siren.as_deref(), Some("210600731"));
        assert_eq!(after.collectivite.nom.as_deref(), Some("Commune de Nice"));
        assert_eq!(after.plateforme.genre, PlatformKind::Stela);
        assert_eq!(
            after.collectivite.emails_retour,
            ["actes@mairie.test", "dgs@mairie.test"]
        );
        assert_eq!(after.carte.cle_signature.as_deref(), Some("0a0b"));
        assert_eq!(after.collectivites, before_collectivites);
        assert_eq!(after.signature.role.as_deref(), Some("Maire"));
        assert_eq!(after.signature.code_postal.as_deref(), Some("06000"));
        let mut ui = simulator(state.view());
        let expected = tf(
            "gui.parametres_enregistres",
            &[("chemin", &path.display().to_string())],
        );
        assert!(ui.find(expected.as_str()).is_ok());
    }

    /// The connection test runs with the settings as typed; a login brings a password field;
    /// a platform that cannot be reached is said in French, and the PIN is not kept.
    #[test]
    fn connection_test_says_what_the_platform_answered() {
        let mut state = State::default();
        let _ = state.update(Message::Loaded(Some(Ok(Box::default()))));
        {
            let mut ui = simulator(state.view());
            assert!(ui.find(t("gui.parametres_tester").as_str()).is_ok());
            let password = tf("gui.mot_de_passe_plateforme", &[("identifiant", "mairie")]);
            assert!(
                ui.find(password.as_str()).is_err(),
                "no login, no password field"
            );
        }
        let _ = state.update(Message::Edit(Field::Identifiant, "mairie".to_owned()));
        let _ = state.update(Message::PinChanged("1234".into()));
        {
            let mut ui = simulator(state.view());
            let password = tf("gui.mot_de_passe_plateforme", &[("identifiant", "mairie")]);
            assert!(
                ui.find(password.as_str()).is_ok(),
                "login set: password field"
            );
        }
        let _ = state.update(Message::Test);
        assert!(state.testing, "the test runs in the background");
        assert!(state.pin.is_empty(), "the PIN was handed over, not kept");
        // What the background task gives back (no address set: nothing to reach).
        let result = test_platform(
            state.fields.apply(Settings::default()),
            zeroize::Zeroizing::new(String::new()),
            zeroize::Zeroizing::new(String::new()),
        );
        let _ = state.update(Message::Tested(Some(result)));
        assert!(!state.testing);
        let mut ui = simulator(state.view());
        assert!(
            ui.find(t("plateforme.non_configuree").as_str()).is_ok(),
            "{:?}",
            state.tested
        );
    }
}
