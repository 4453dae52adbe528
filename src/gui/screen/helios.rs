//! Hélios: open a PES, see the bordereaux and the findings before signing.

use crate::findings::Finding;
use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::pes::checks::{Intent, bordereau_label, check};
use crate::pes::{PesSummary, inspect_file};
use iced::widget::{button, column, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use std::sync::Arc;

#[derive(Default)]
pub struct State {
    path: String,
    loading: bool,
    summary: Option<Arc<PesSummary>>,
    findings: Vec<Finding>,
    error: Option<String>,
}

/// A file read and checked.
type Opened = (Arc<PesSummary>, Vec<Finding>);

#[derive(Debug, Clone)]
pub enum Message {
    PathChanged(String),
    Open,
    Opened(Option<Result<Opened, String>>),
}

impl State {
    /// The path typed so far (for tests).
    #[cfg(test)]
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::PathChanged(p) => {
                self.path = p;
                Task::none()
            }
            Message::Open => {
                self.loading = true;
                self.error = None;
                let path = std::path::PathBuf::from(self.path.trim());
                Task::perform(
                    background(move || {
                        let summary = inspect_file(&path).map_err(|e| e.to_string())?;
                        let findings = check(&summary, Intent::SignBordereaux);
                        Ok((Arc::new(summary), findings))
                    }),
                    Message::Opened,
                )
            }
            Message::Opened(result) => {
                self.loading = false;
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
            for b in &summary.bordereaux {
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
                        text(bordereau_label(b))
                            .width(Length::FillPortion(4))
                            .size(theme::SMALL),
                        text(b.date.clone().unwrap_or_default())
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
            }
            col = col.push(table);
            col = col.push(text(t("gui.constats")).size(theme::HEADING));
            if self.findings.is_empty() {
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
        }
        scrollable(col).into()
    }
}
