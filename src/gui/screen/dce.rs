//! DCE: the consultation in four tabs — Consultation, Pièces, Réponse électronique, Publication —
//! checked by the library's rules and built into one ZIP with its manifest (signed on request).

use crate::findings::Finding;
use crate::gui::{background, theme};
use crate::marches::dce::{
    BuiltDce, Consultation, DceDescription, Lot, Piece, Reponse, build, check, paris_deadline,
};
use crate::messages::{t, tf};
use iced::widget::{button, checkbox, column, pick_list, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Consultation,
    Pieces,
    Reponse,
    Publication,
}

/// A procedure as the list shows it (its French name) and as the description stores it (its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Procedure(&'static str);

impl std::fmt::Display for Procedure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&t(&format!("gui.dce_procedure_{}", self.0)))
    }
}

const PROCEDURES: [Procedure; 6] = [
    Procedure("adaptee"),
    Procedure("ouverte"),
    Procedure("restreinte"),
    Procedure("negociee"),
    Procedure("dialogue_competitif"),
    Procedure("concours"),
];
const TYPES: [&str; 16] = [
    "RC", "CCAP", "CCTP", "CCAG", "AE", "ATTRI1", "BPU", "DPGF", "DQE", "DC1", "DC2", "DC4",
    "DUME", "PLAN", "ANNEXE", "AUTRE",
];

pub struct State {
    tab: Tab,
    objet: String,
    reference: String,
    procedure: Procedure,
    acheteur: String,
    date_limite: String,
    heure_limite: String,
    lots: Vec<Lot>,
    new_lot: String,
    pieces: Vec<Piece>,
    new_piece: String,
    new_type: &'static str,
    new_piece_lot: String,
    signature_exigee: String,
    formats: String,
    certificats: Vec<PathBuf>,
    new_certificat: String,
    sortie: String,
    signer: bool,
    pin: Zeroizing<String>,
    busy: bool,
    findings: Option<Vec<Finding>>,
    result: Option<Result<BuiltDce, String>>,
}

impl Default for State {
    fn default() -> Self {
        State {
            tab: Tab::default(),
            objet: String::new(),
            reference: String::new(),
            procedure: PROCEDURES[0],
            acheteur: String::new(),
            date_limite: String::new(),
            heure_limite: "12:00".to_owned(),
            lots: Vec::new(),
            new_lot: String::new(),
            pieces: Vec::new(),
            new_piece: String::new(),
            new_type: "RC",
            new_piece_lot: String::new(),
            signature_exigee: "AE".to_owned(),
            formats: "pdf, odt, docx, xlsx, ods, zip".to_owned(),
            certificats: Vec::new(),
            new_certificat: String::new(),
            sortie: String::new(),
            signer: false,
            pin: Zeroizing::default(),
            busy: false,
            findings: None,
            result: None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Tab(Tab),
    Objet(String),
    Reference(String),
    Procedure(Procedure),
    Acheteur(String),
    DateLimite(String),
    HeureLimite(String),
    NewLot(String),
    AddLot,
    RemoveLot(usize),
    NewPiece(String),
    NewType(&'static str),
    NewPieceLot(String),
    AddPiece,
    RemovePiece(usize),
    SignatureExigee(String),
    Formats(String),
    NewCertificat(String),
    AddCertificat,
    RemoveCertificat(usize),
    Sortie(String),
    Signer(bool),
    Pin(crate::gui::Secret),
    Check,
    Checked(Option<Result<Vec<Finding>, String>>),
    Build,
    Built(Option<Result<BuiltDce, String>>),
}

fn list(text_value: &str) -> Vec<String> {
    text_value
        .split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Check a description (off the UI thread): its findings.
pub fn check_description(description: DceDescription) -> Result<Vec<Finding>, String> {
    let checked = check(
        &description,
        std::path::Path::new("."),
        time::OffsetDateTime::now_utc(),
    );
    Ok(checked.constats)
}

/// Check then build (off the UI thread), signing the manifest with the card when a PIN is given.
pub fn build_dce(
    description: DceDescription,
    output: PathBuf,
    pin: Option<Zeroizing<String>>,
) -> Result<BuiltDce, String> {
    let now = time::OffsetDateTime::now_utc();
    let checked = check(&description, std::path::Path::new("."), now);
    if checked.is_blocking() {
        return Err(t("marches.dce.cli.bloquant"));
    }
    match pin {
        None => build(&description, &checked, &output, now, None),
        Some(pin) => {
            let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
            let choice = crate::card::select::KeyChoice::from_settings(
                &settings.carte,
                crate::certs::Role::Signature,
            );
            let prompt = Box::new(crate::card::pin::FixedPrompt::new(&pin));
            drop(pin);
            let mut signer =
                crate::card::select::open_for_role(&choice, crate::certs::Role::Signature, prompt)
                    .map_err(|e| e.to_string())?;
            let mut sign = |digest: &[u8]| {
                crate::actes::cms::sign_digest(
                    signer.as_mut(),
                    digest,
                    &crate::actes::cms::CmsOptions::default(),
                )
                .map_err(|e| e.to_string())
            };
            build(&description, &checked, &output, now, Some(&mut sign))
        }
    }
}

impl State {
    /// What the four tabs hold, as the library's description (absolute paths as typed).
    pub fn description(&self) -> DceDescription {
        DceDescription {
            consultation: Consultation {
                objet: self.objet.trim().to_owned(),
                reference: self.reference.trim().to_owned(),
                procedure: self.procedure.0.to_owned(),
                acheteur: Some(self.acheteur.trim().to_owned()).filter(|a| !a.is_empty()),
                date_publication: None,
                // An unreadable date is reported by the rules, which name the field.
                date_limite: paris_deadline(&self.date_limite, &self.heure_limite)
                    .unwrap_or_else(|_| self.date_limite.clone()),
            },
            lots: self.lots.clone(),
            pieces: self.pieces.clone(),
            reponse: Reponse {
                signature_exigee: list(&self.signature_exigee),
                formats: list(&self.formats),
                certificats_chiffrement: self.certificats.clone(),
            },
        }
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Tab(tab) => self.tab = tab,
            Message::Objet(v) => self.objet = v,
            Message::Reference(v) => self.reference = v,
            Message::Procedure(v) => self.procedure = v,
            Message::Acheteur(v) => self.acheteur = v,
            Message::DateLimite(v) => self.date_limite = v,
            Message::HeureLimite(v) => self.heure_limite = v,
            Message::NewLot(v) => self.new_lot = v,
            Message::AddLot => {
                let intitule = self.new_lot.trim().to_owned();
                if !intitule.is_empty() {
                    let numero = self.lots.iter().map(|l| l.numero).max().unwrap_or(0) + 1;
                    self.lots.push(Lot { numero, intitule });
                    self.new_lot.clear();
                }
            }
            Message::RemoveLot(i) if i < self.lots.len() => {
                self.lots.remove(i);
            }
            Message::NewPiece(v) => self.new_piece = v,
            Message::NewType(v) => self.new_type = v,
            Message::NewPieceLot(v) => self.new_piece_lot = v,
            Message::AddPiece => {
                let path = self.new_piece.trim();
                if !path.is_empty() {
                    self.pieces.push(Piece {
                        kind: self.new_type.to_owned(),
                        fichier: PathBuf::from(path),
                        lot: self.new_piece_lot.trim().parse().ok(),
                        nom: None,
                    });
                    self.new_piece.clear();
                }
            }
            Message::RemovePiece(i) if i < self.pieces.len() => {
                self.pieces.remove(i);
            }
            Message::SignatureExigee(v) => self.signature_exigee = v,
            Message::Formats(v) => self.formats = v,
            Message::NewCertificat(v) => self.new_certificat = v,
            Message::AddCertificat => {
                let path = self.new_certificat.trim();
                if !path.is_empty() {
                    self.certificats.push(PathBuf::from(path));
                    self.new_certificat.clear();
                }
            }
            Message::RemoveCertificat(i) if i < self.certificats.len() => {
                self.certificats.remove(i);
            }
            Message::RemoveLot(_) | Message::RemovePiece(_) | Message::RemoveCertificat(_) => {}
            Message::Sortie(v) => self.sortie = v,
            Message::Signer(v) => self.signer = v,
            Message::Pin(v) => self.pin = v.into_zeroizing(),
            Message::Check if !self.busy => {
                self.busy = true;
                let description = self.description();
                return Task::perform(
                    background(move || check_description(description)),
                    Message::Checked,
                );
            }
            Message::Build if !self.busy && !self.sortie.trim().is_empty() => {
                self.busy = true;
                self.result = None;
                let description = self.description();
                let output = PathBuf::from(self.sortie.trim());
                let pin = self.signer.then(|| std::mem::take(&mut self.pin));
                return Task::perform(
                    background(move || build_dce(description, output, pin)),
                    Message::Built,
                );
            }
            Message::Check | Message::Build => {}
            Message::Checked(result) => {
                self.busy = false;
                match result {
                    Some(Ok(findings)) => self.findings = Some(findings),
                    Some(Err(e)) => self.result = Some(Err(e)),
                    None => {}
                }
            }
            Message::Built(result) => {
                self.busy = false;
                self.result = result;
            }
        }
        Task::none()
    }

    fn tabs(&self) -> Element<'_, Message> {
        let tab = |label: &str, which: Tab| {
            let b = button(text(t(label)).size(theme::TEXT)).on_press(Message::Tab(which));
            if self.tab == which {
                b.style(button::primary)
            } else {
                b.style(button::secondary)
            }
        };
        row![
            tab("gui.dce_onglet_consultation", Tab::Consultation),
            tab("gui.dce_onglet_pieces", Tab::Pieces),
            tab("gui.dce_onglet_reponse", Tab::Reponse),
            tab("gui.dce_onglet_publication", Tab::Publication),
        ]
        .spacing(theme::GAP)
        .into()
    }

    fn consultation_tab(&self) -> Element<'_, Message> {
        let mut lots = column![].spacing(theme::GAP / 2.0);
        for (i, lot) in self.lots.iter().enumerate() {
            lots = lots.push(
                row![
                    text(tf(
                        "gui.dce_lot",
                        &[("n", &lot.numero.to_string()), ("intitule", &lot.intitule)]
                    ))
                    .width(Length::Fill)
                    .size(theme::TEXT),
                    button(text(t("gui.retirer"))).on_press(Message::RemoveLot(i)),
                ]
                .spacing(theme::GAP),
            );
        }
        column![
            text_input(&t("gui.dce_objet"), &self.objet).on_input(Message::Objet),
            text_input(&t("gui.dce_reference"), &self.reference).on_input(Message::Reference),
            row![
                text(t("gui.dce_procedure")).size(theme::TEXT),
                pick_list(PROCEDURES, Some(self.procedure), Message::Procedure),
            ]
            .spacing(theme::GAP)
            .align_y(iced::alignment::Vertical::Center),
            text_input(&t("gui.dce_acheteur"), &self.acheteur).on_input(Message::Acheteur),
            row![
                text_input(&t("gui.dce_date_limite"), &self.date_limite)
                    .on_input(Message::DateLimite)
                    .width(280),
                text_input(&t("gui.dce_heure_limite"), &self.heure_limite)
                    .on_input(Message::HeureLimite)
                    .width(100),
            ]
            .spacing(theme::GAP),
            text(t("gui.dce_lots")).size(theme::HEADING),
            lots,
            row![
                text_input(&t("gui.dce_nouveau_lot"), &self.new_lot)
                    .on_input(Message::NewLot)
                    .on_submit(Message::AddLot),
                button(text(t("gui.ajouter"))).on_press(Message::AddLot),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP)
        .into()
    }

    fn pieces_tab(&self) -> Element<'_, Message> {
        let mut pieces = column![].spacing(theme::GAP / 2.0);
        for (i, piece) in self.pieces.iter().enumerate() {
            let lot = piece
                .lot
                .map(|n| tf("gui.dce_piece_lot", &[("n", &n.to_string())]))
                .unwrap_or_default();
            pieces = pieces.push(
                row![
                    text(piece.kind.clone()).width(80).size(theme::TEXT),
                    text(piece.fichier.display().to_string())
                        .width(Length::Fill)
                        .size(theme::TEXT),
                    text(lot).width(80).size(theme::SMALL),
                    button(text(t("gui.retirer"))).on_press(Message::RemovePiece(i)),
                ]
                .spacing(theme::GAP),
            );
        }
        column![
            text(t("gui.dce_pieces_explication")).size(theme::TEXT),
            scrollable(pieces).height(Length::Fill),
            row![
                pick_list(TYPES, Some(self.new_type), Message::NewType),
                text_input(&t("gui.dce_chemin_piece"), &self.new_piece)
                    .on_input(Message::NewPiece)
                    .on_submit(Message::AddPiece),
                text_input(&t("gui.dce_lot_piece"), &self.new_piece_lot)
                    .on_input(Message::NewPieceLot)
                    .width(100),
                button(text(t("gui.ajouter"))).on_press(Message::AddPiece),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP)
        .into()
    }

    fn reponse_tab(&self) -> Element<'_, Message> {
        let mut certificats = column![].spacing(theme::GAP / 2.0);
        for (i, c) in self.certificats.iter().enumerate() {
            certificats = certificats.push(
                row![
                    text(c.display().to_string())
                        .width(Length::Fill)
                        .size(theme::TEXT),
                    button(text(t("gui.retirer"))).on_press(Message::RemoveCertificat(i)),
                ]
                .spacing(theme::GAP),
            );
        }
        column![
            text(t("gui.dce_signature_exigee")).size(theme::TEXT),
            text_input("AE, ATTRI1", &self.signature_exigee).on_input(Message::SignatureExigee),
            text(t("gui.dce_formats")).size(theme::TEXT),
            text_input("pdf, odt, docx", &self.formats).on_input(Message::Formats),
            text(t("gui.dce_certificats")).size(theme::HEADING),
            certificats,
            row![
                text_input(&t("gui.dce_chemin_certificat"), &self.new_certificat)
                    .on_input(Message::NewCertificat)
                    .on_submit(Message::AddCertificat),
                button(text(t("gui.ajouter"))).on_press(Message::AddCertificat),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP)
        .into()
    }

    fn publication_tab(&self) -> Element<'_, Message> {
        let summary = tf(
            "gui.dce_resume",
            &[
                ("objet", self.objet.trim()),
                ("reference", self.reference.trim()),
                ("pieces", &self.pieces.len().to_string()),
                ("lots", &self.lots.len().to_string()),
            ],
        );
        let mut col = column![
            text(summary).size(theme::TEXT),
            text_input(&t("gui.dce_sortie"), &self.sortie).on_input(Message::Sortie),
            row![
                checkbox(self.signer)
                    .label(t("gui.dce_signer"))
                    .on_toggle(Message::Signer),
                text_input(&t("gui.pin_signature"), &self.pin)
                    .secure(true)
                    .on_input(|v| Message::Pin(v.into()))
                    .width(240),
            ]
            .spacing(theme::GAP),
            row![
                button(text(t("gui.dce_controler"))).on_press(Message::Check),
                button(text(t("gui.dce_construire"))).on_press(Message::Build),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP);
        if self.busy {
            col = col.push(text(t("gui.dce_en_cours")).size(theme::TEXT));
        }
        if let Some(findings) = &self.findings {
            if findings.iter().any(Finding::is_blocking) {
                col = col.push(text(t("marches.dce.cli.bloquant")).size(theme::TEXT));
            } else {
                col = col.push(text(t("marches.dce.cli.controle_ok")).size(theme::TEXT));
            }
            let mut rows = column![].spacing(theme::GAP / 2.0);
            for f in findings {
                let level = if f.is_blocking() {
                    t("commun.erreur")
                } else {
                    t("commun.avertissement")
                };
                rows = rows.push(text(format!("{level} : {}", f.message)).size(theme::SMALL));
            }
            col = col.push(scrollable(rows).height(Length::Fill));
        }
        match &self.result {
            Some(Ok(built)) => {
                col = col.push(
                    text(tf(
                        "gui.dce_construit",
                        &[
                            ("chemin", &built.fichier.display().to_string()),
                            ("n", &built.pieces.len().to_string()),
                        ],
                    ))
                    .size(theme::TEXT),
                )
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        col.into()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let body = match self.tab {
            Tab::Consultation => self.consultation_tab(),
            Tab::Pieces => self.pieces_tab(),
            Tab::Reponse => self.reponse_tab(),
            Tab::Publication => self.publication_tab(),
        };
        column![
            text(t("gui.dce_titre")).size(theme::TITLE),
            self.tabs(),
            body
        ]
        .spacing(theme::GAP * 2.0)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_test::simulator;

    #[test]
    fn four_tabs_fill_a_consultation_that_is_checked_then_built() {
        let dir = tempfile::tempdir().expect("tmp");
        let rc = dir.path().join("RC.pdf");
        std::fs::write(&rc, b"%PDF-1.7\n% reglement de la consultation TEST\n").expect("write");
        let fake = dir.path().join("CCTP.pdf");
        std::fs::write(&fake, b"MZ\x90\x00 executable").expect("write");
        let mut state = State::default();

        // Consultation tab.
        let _ = state.update(Message::Objet("Réfection de la voirie".to_owned()));
        let _ = state.update(Message::Reference("2027-VOI-01".to_owned()));
        let _ = state.update(Message::Procedure(PROCEDURES[1]));
        let _ = state.update(Message::DateLimite("15/01/2099".to_owned()));
        let _ = state.update(Message::NewLot("Voirie".to_owned()));
        let _ = state.update(Message::AddLot);
        {
            let mut ui = simulator(state.view());
            assert!(
                ui.find(tf("gui.dce_lot", &[("n", "1"), ("intitule", "Voirie")]).as_str())
                    .is_ok()
            );
        }

        // Pièces tab: the RC, and an executable calling itself a PDF.
        let _ = state.update(Message::Tab(Tab::Pieces));
        let _ = state.update(Message::NewPiece(rc.display().to_string()));
        let _ = state.update(Message::AddPiece);
        let _ = state.update(Message::NewType("CCTP"));
        let _ = state.update(Message::NewPiece(fake.display().to_string()));
        let _ = state.update(Message::NewPieceLot("1".to_owned()));
        let _ = state.update(Message::AddPiece);
        {
            let mut ui = simulator(state.view());
            assert!(ui.find(rc.display().to_string().as_str()).is_ok());
        }
        let description = state.description();
        assert_eq!(
            description.consultation.date_limite,
            "2099-01-15T12:00:00+01:00"
        );
        assert_eq!(description.pieces[1].lot, Some(1));

        // Publication tab: the check finds the executable, building is refused.
        let _ = state.update(Message::Tab(Tab::Publication));
        let findings = check_description(state.description()).expect("check");
        let _ = state.update(Message::Checked(Some(Ok(findings))));
        {
            let mut ui = simulator(state.view());
            assert!(ui.find(t("marches.dce.cli.bloquant").as_str()).is_ok());
        }
        let output = dir.path().join("DCE.zip");
        assert!(build_dce(state.description(), output.clone(), None).is_err());
        assert!(!output.exists());

        // Without it, the DCE is built.
        let _ = state.update(Message::Tab(Tab::Pieces));
        let _ = state.update(Message::RemovePiece(1));
        let built = build_dce(state.description(), output.clone(), None).expect("built");
        let _ = state.update(Message::Tab(Tab::Publication));
        let _ = state.update(Message::Built(Some(Ok(built))));
        let mut ui = simulator(state.view());
        let expected = tf(
            "gui.dce_construit",
            &[("chemin", &output.display().to_string()), ("n", "1")],
        );
        assert!(ui.find(expected.as_str()).is_ok());
        assert!(output.is_file());
    }
}
