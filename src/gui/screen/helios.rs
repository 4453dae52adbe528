//! Hélios: open a PES, see the bordereaux and the findings, sign (per bordereau or the whole
//! file) and see each signature verified, then put the signed file in the outbox.

use crate::findings::Finding;
use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::pes::PesSummary;
use crate::pes::checks::{Intent, bordereau_label};
use iced::widget::{button, column, row, text, text_input};
use iced::{Element, Length, Task};
use std::sync::Arc;

#[derive(Default)]
pub struct State {
    path: String,
    loading: bool,
    summary: Option<Arc<PesSummary>>,
    findings: Vec<Finding>,
    error: Option<String>,
    /// The file the summary was read from.
    opened: Option<std::path::PathBuf>,
    signature: super::signature::Panel,
    /// The bordereau whose pieces are shown (its index in the summary).
    shown: Option<usize>,
    /// What opening a pièce justificative said.
    pj_opened: Option<Result<String, String>>,
    /// The verifier's verdict on the signatures the file already carries, once asked for.
    verdict: Option<Result<Arc<crate::pes::verify::FileVerdict>, String>>,
    verifying: bool,
    /// The list of pièces justificatives is unfolded (folded by default: a PES can carry
    /// hundreds, and the signature comes first).
    pj_shown: bool,
    /// The schema check of the opened file is under way (signing waits for it).
    schema_pending: bool,
}

/// Pieces listed at once under a bordereau; the rest is counted (a bordereau of thousands of
/// mandats stays readable and quick to draw).
const PIECES_SHOWN: usize = 200;

/// A file read and checked.
type Opened = (Arc<PesSummary>, Vec<Finding>);

#[derive(Debug, Clone)]
pub enum Message {
    PathChanged(String),
    Open,
    /// « Parcourir… »: the system's dialog, filtered on PES files.
    Browse(crate::gui::files::Request),
    /// What the dialog chose: opened at once (nothing chosen: nothing changes).
    Chosen(Vec<std::path::PathBuf>),
    Opened(Option<Result<Opened, String>>),
    /// The DGFiP schema's findings for the file opened (it takes longer than the summary).
    SchemaChecked(std::path::PathBuf, Option<Vec<Finding>>),
    Signature(super::signature::Message),
    /// Show (or hide) the pieces of bordereau n.
    ShowBordereau(usize),
    /// Fold or unfold the list of pièces justificatives.
    TogglePj,
    /// Verify the signatures the opened file carries (the settings' trust store).
    Verify,
    Verified(Option<Result<Arc<crate::pes::verify::FileVerdict>, String>>),
    /// Take PJ n out of the file and hand it to the system's viewer.
    OpenPj(usize),
    PjOpened(Option<Result<std::path::PathBuf, String>>),
}

/// Write PJ `index` of `file` to a private folder of the data directory and open it.
fn open_pj(
    file: std::path::PathBuf,
    summary: Arc<PesSummary>,
    index: usize,
) -> Result<std::path::PathBuf, String> {
    let pj = summary
        .pj
        .get(index)
        .ok_or_else(|| t("gui.envoi_document_absent"))?;
    let stem = file
        .file_stem()
        .map(|s| crate::platform::s2low::sanitise_name(&s.to_string_lossy()))
        .unwrap_or_default();
    let dir = crate::settings::data_dir()
        .map_err(|e| e.to_string())?
        .join("pj")
        .join(stem);
    let path = crate::pes::pj::save(&file, pj, &dir).map_err(|e| e.to_string())?;
    crate::gui::open_with_system(&path)?;
    Ok(path)
}

impl State {
    /// The path typed so far (for tests).
    #[cfg(test)]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The demonstration: the sample PES ready to open, signed with the demonstration signer,
    /// verified against the sandbox's authority.
    pub fn set_demo(&mut self, demo: &crate::platform::demo::Demo, pes: std::path::PathBuf) {
        self.path = pes.display().to_string();
        self.signature.set_demo(demo);
    }

    /// Escape: the pieces of the bordereau shown are hidden.
    pub fn escape(&mut self) -> Task<Message> {
        self.shown = None;
        Task::none()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::PathChanged(p) => {
                self.path = p;
                Task::none()
            }
            Message::Browse(request) => crate::gui::files::choose(request, Message::Chosen),
            Message::Chosen(chosen) => match chosen.into_iter().next() {
                Some(path) if !self.loading => {
                    self.path = path.display().to_string();
                    self.update(Message::Open)
                }
                _ => Task::none(),
            },
            Message::Open => {
                self.loading = true;
                self.error = None;
                let path = std::path::PathBuf::from(self.path.trim());
                self.opened = Some(path.clone());
                let defaults = super::signature::Panel::load_defaults().map(Message::Signature);
                // The summary (bound to the file's hash) and the rules first; the DGFiP schema
                // (shipped unless the settings name one), which takes longer, on its own.
                let for_schema = path.clone();
                let open = Task::perform(
                    background(move || {
                        let summary = crate::pes::inspect_file(&path).map_err(|e| e.to_string())?;
                        let mut findings =
                            crate::pes::checks::check(&summary, Intent::SignBordereaux);
                        if let Ok(settings) = crate::settings::Settings::load() {
                            findings.extend(crate::pes::checks::collectivite_finding(
                                &summary, &settings,
                            ));
                        }
                        Ok((Arc::new(summary), findings))
                    }),
                    Message::Opened,
                );
                self.schema_pending = true;
                let schema = Task::perform(
                    background({
                        let path = for_schema.clone();
                        move || {
                            let settings = crate::settings::Settings::load().unwrap_or_default();
                            Ok::<_, String>(crate::pes::control::schema_check(&path, &settings))
                        }
                    }),
                    move |found| {
                        Message::SchemaChecked(for_schema.clone(), found.and_then(Result::ok))
                    },
                );
                Task::batch([open, schema, defaults])
            }
            Message::Signature(m) => {
                let input = match (&self.opened, &self.summary) {
                    (Some(path), Some(summary)) => Some((
                        path.as_path(),
                        summary.bordereaux.len(),
                        summary.sha256.as_slice(),
                    )),
                    _ => None,
                };
                self.signature.update(m, input).map(Message::Signature)
            }
            Message::ShowBordereau(n) => {
                self.shown = (self.shown != Some(n)).then_some(n);
                Task::none()
            }
            Message::Verify => match &self.opened {
                Some(file) if !self.verifying => {
                    self.verifying = true;
                    self.verdict = None;
                    let file = file.clone();
                    let chosen = self.signature.trust_override();
                    Task::perform(
                        background(move || {
                            let settings =
                                crate::settings::Settings::load().map_err(|e| e.to_string())?;
                            super::signature::verify(&file, chosen.as_deref(), &settings)
                        }),
                        Message::Verified,
                    )
                }
                _ => Task::none(),
            },
            Message::Verified(result) => {
                self.verifying = false;
                self.verdict = Some(result.unwrap_or_else(|| Err(t("gui.signature_interrompue"))));
                Task::none()
            }
            Message::TogglePj => {
                self.pj_shown = !self.pj_shown;
                Task::none()
            }
            Message::OpenPj(index) => match (&self.opened, &self.summary) {
                (Some(file), Some(summary)) => {
                    let (file, summary) = (file.clone(), summary.clone());
                    Task::perform(
                        background(move || open_pj(file, summary, index)),
                        Message::PjOpened,
                    )
                }
                _ => Task::none(),
            },
            Message::PjOpened(result) => {
                self.pj_opened = Some(crate::gui::opened_message(result));
                Task::none()
            }
            Message::SchemaChecked(path, found) => {
                // A check of a file opened before this one is of no use.
                if self.opened.as_ref() == Some(&path) {
                    self.schema_pending = false;
                    let mut findings = found.unwrap_or_else(|| {
                        vec![Finding::warning(
                            "pes.schema_non_verifie",
                            t("gui.helios_schema_interrompu"),
                            Default::default(),
                        )]
                    });
                    findings.append(&mut self.findings);
                    self.findings = findings;
                }
                Task::none()
            }
            Message::Opened(result) => {
                self.loading = false;
                self.shown = None;
                self.pj_opened = None;
                self.verdict = None;
                match result {
                    Some(Ok((summary, findings))) => {
                        self.summary = Some(summary);
                        self.findings = findings;
                    }
                    Some(Err(e)) => self.error = Some(e),
                    None => {}
                }
                Task::none()
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let open = row![
            text_input(&t("gui.helios_chemin"), &self.path)
                .on_input(Message::PathChanged)
                .on_submit(Message::Open)
                .padding(theme::PAD),
            button(text(t("gui.parcourir")))
                .padding(theme::PAD)
                .on_press_maybe((!self.loading).then(|| Message::Browse(
                    crate::gui::files::Request::open(crate::gui::files::Kind::Pes)
                ))),
            button(text(if self.loading {
                t("gui.ouverture")
            } else {
                t("gui.ouvrir")
            }))
            .padding(theme::PAD)
            .on_press_maybe(
                (!self.loading && !self.path.trim().is_empty()).then_some(Message::Open)
            ),
        ]
        .spacing(theme::GAP);
        let mut col =
            column![text(t("gui.helios_titre")).size(theme::TITLE), open].spacing(theme::GAP * 1.5);
        if let Some(e) = &self.error {
            col = col.push(text(e.clone()).size(theme::TEXT));
        }
        if let Some(summary) = &self.summary {
            let e = &summary.entete;
            col = col.push(
                text(tf(
                    "pes_cli.entete",
                    &[
                        ("collectivite", e.id_coll.as_deref().unwrap_or("?")),
                        ("codcol", e.cod_col.as_deref().unwrap_or("?")),
                        ("budget", e.cod_bud.as_deref().unwrap_or("—")),
                        ("poste", e.id_post.as_deref().unwrap_or("?")),
                        (
                            "nomfic",
                            summary.enveloppe.nom_fic.as_deref().unwrap_or("?"),
                        ),
                    ],
                ))
                .size(theme::TEXT),
            );
            let header = row![
                text(t("gui.col_bordereau")).width(Length::FillPortion(4)),
                text(t("gui.col_date")).width(Length::FillPortion(2)),
                text(t("gui.col_pieces")).width(Length::FillPortion(2)),
                text(t("gui.col_montant")).width(Length::FillPortion(3)),
                text(t("gui.col_signe")).width(Length::FillPortion(1)),
            ]
            .spacing(theme::GAP);
            let mut table = column![header].spacing(4);
            for (n, b) in summary.bordereaux.iter().enumerate() {
                let pieces = match b.nb_pieces {
                    Some(n) if n != b.nb_pieces_calcule => format!("{} / {n}", b.nb_pieces_calcule),
                    _ => b.nb_pieces_calcule.to_string(),
                };
                let amount = match b.montant_ht {
                    Some(m) if m != b.montant_ht_calcule => {
                        format!("{} ({})", b.montant_ht_calcule.french(), m.french())
                    }
                    _ => b.montant_ht_calcule.french(),
                };
                table = table.push(
                    row![
                        button(text(bordereau_label(b)).size(theme::SMALL))
                            .on_press(Message::ShowBordereau(n))
                            .style(button::text)
                            .padding(0)
                            .width(Length::FillPortion(4)),
                        text(theme::french_date(b.date.as_deref().unwrap_or_default()))
                            .width(Length::FillPortion(2))
                            .size(theme::SMALL),
                        text(pieces)
                            .width(Length::FillPortion(2))
                            .size(theme::SMALL),
                        text(amount)
                            .width(Length::FillPortion(3))
                            .size(theme::SMALL),
                        text(if b.signe { t("gui.oui") } else { t("gui.non") })
                            .width(Length::FillPortion(1))
                            .size(theme::SMALL),
                    ]
                    .spacing(theme::GAP),
                );
                if self.shown == Some(n) {
                    table = table.push(pieces_view(b));
                }
            }
            col = col.push(table);
            col = col.push(text(t("gui.constats")).size(theme::HEADING));
            if self.schema_pending {
                col = col.push(text(t("gui.helios_schema_en_cours")).size(theme::TEXT));
            } else if self.findings.is_empty() {
                col = col.push(text(t("pes_cli.aucun_constat")).size(theme::TEXT));
            }
            for f in &self.findings {
                let level = if f.is_blocking() {
                    t("commun.erreur")
                } else {
                    t("commun.avertissement")
                };
                col = col.push(text(format!("{level} : {}", f.message)).size(theme::SMALL));
            }
            if !summary.signatures.is_empty() {
                col = col.push(self.existing_signatures(summary.signatures.len()));
            }
            let can_sign = !self.schema_pending && !self.findings.iter().any(Finding::is_blocking);
            col = col.push(self.signature.view(can_sign).map(Message::Signature));
            if !summary.pj.is_empty() {
                col = col.push(self.pj_view(summary));
            }
        }
        theme::scrolling(col).into()
    }

    /// The signatures the file already carries: how many, « Vérifier les signatures », and the
    /// verdict once it came.
    fn existing_signatures(&self, n: usize) -> Element<'_, Message> {
        let mut col = column![
            row![
                text(tf("gui.signatures_existantes", &[("n", &n.to_string())])).size(theme::TEXT),
                button(text(if self.verifying {
                    t("gui.verification_en_cours")
                } else {
                    t("gui.verifier_signatures")
                }))
                .on_press_maybe((!self.verifying).then_some(Message::Verify)),
            ]
            .spacing(theme::GAP)
            .align_y(iced::Alignment::Center)
        ]
        .spacing(4);
        if let Some(verdict) = &self.verdict {
            col = col.push(super::signature::verdict_view(verdict));
        }
        col.into()
    }

    /// The pièces justificatives: name, kind, size, each with « Ouvrir ».
    fn pj_view<'a>(&'a self, summary: &'a PesSummary) -> Element<'a, Message> {
        let title = tf(
            "gui.helios_pj_titre",
            &[("n", &summary.pj.len().to_string())],
        );
        let fold = if self.pj_shown {
            t("gui.replier")
        } else {
            t("gui.deplier")
        };
        let mut list = column![
            row![
                text(title).size(theme::HEADING),
                button(text(fold).size(theme::SMALL)).on_press(Message::TogglePj),
            ]
            .spacing(theme::GAP)
            .align_y(iced::Alignment::Center)
        ]
        .spacing(4);
        if !self.pj_shown {
            return list.into();
        }
        for (i, pj) in summary.pj.iter().enumerate() {
            list = list.push(
                row![
                    text(crate::pes::pj::display_name(pj))
                        .width(Length::FillPortion(4))
                        .size(theme::SMALL),
                    text(pj.type_mime.clone().unwrap_or_default())
                        .width(Length::FillPortion(2))
                        .size(theme::SMALL),
                    text(crate::actes::files::human_size(pj.taille))
                        .width(Length::FillPortion(1))
                        .size(theme::SMALL),
                    button(text(t("gui.helios_pj_afficher")).size(theme::SMALL))
                        .on_press(Message::OpenPj(i)),
                ]
                .spacing(theme::GAP)
                .align_y(iced::Alignment::Center),
            );
        }
        match &self.pj_opened {
            Some(Ok(m)) | Some(Err(m)) => list = list.push(text(m.clone()).size(theme::SMALL)),
            None => {}
        }
        list.into()
    }

    /// The signing job the "Signer" button would start (tests run it without a window).
    #[cfg(test)]
    pub fn signing_job(&mut self) -> Option<super::signature::Job> {
        let (path, summary) = (self.opened.as_ref()?, self.summary.as_ref()?);
        self.signature
            .job(path, summary.bordereaux.len(), &summary.sha256)
    }

    pub fn subscription(&self) -> iced::Subscription<Message> {
        self.signature.subscription().map(Message::Signature)
    }
}

/// A bordereau's pieces: number, object, tiers, amount, the PJ they cite.
fn pieces_view(b: &crate::pes::summary::Bordereau) -> Element<'_, Message> {
    let mut list = column![].spacing(2).padding([0, 24]);
    if b.pieces.is_empty() && b.nb_pieces_calcule > 0 {
        list = list.push(text(t("gui.helios_pieces_non_detaillees")).size(theme::SMALL));
    }
    for p in b.pieces.iter().take(PIECES_SHOWN) {
        let mut line = tf(
            "gui.helios_piece",
            &[
                ("numero", p.id_pce.as_deref().unwrap_or("?")),
                ("objet", p.objet.as_deref().unwrap_or("—")),
                ("tiers", &p.tiers.join(", ")),
                ("montant", &p.montant_ht.french()),
            ],
        );
        if !p.pj.is_empty() {
            line.push_str(&tf("gui.helios_piece_pj", &[("pj", &p.pj.join(", "))]));
        }
        list = list.push(text(line).size(theme::SMALL));
    }
    if b.pieces.len() > PIECES_SHOWN {
        list = list.push(
            text(tf(
                "gui.helios_pieces_autres",
                &[("n", &(b.pieces.len() - PIECES_SHOWN).to_string())],
            ))
            .size(theme::SMALL),
        );
    }
    list.into()
}
