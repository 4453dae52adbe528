//! Certificats: modules, tokens, certificates by role, expiry, PIN state.

use crate::card::inventory::{ModuleReport, scan as scan_inventory};
use crate::certs::{Role, ValidityState, date_fr};
use crate::gui::{background, theme};
use crate::messages::{t, tf};
use iced::widget::{button, column, scrollable, text};
use iced::{Element, Task};
use std::sync::Arc;

#[derive(Default)]
pub struct State {
    reports: Option<Arc<Vec<ModuleReport>>>,
    scanning: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    Rescan,
    Scanned(Option<Arc<Vec<ModuleReport>>>),
}

impl std::fmt::Debug for ModuleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleReport({})", self.candidate.path.display())
    }
}

/// Scan modules and tokens on a worker thread.
pub fn scan() -> Task<Message> {
    Task::perform(
        background(|| {
            let configured = crate::settings::Settings::load()
                .ok()
                .and_then(|s| s.carte.module);
            Arc::new(scan_inventory(None, configured))
        }),
        Message::Scanned,
    )
}

impl State {
    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Rescan => {
                self.scanning = true;
                scan()
            }
            Message::Scanned(reports) => {
                self.scanning = false;
                self.reports = reports;
                Task::none()
            }
        }
    }

    /// Expiring or expired certificates and PIN trouble, for the home screen.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(reports) = &self.reports else {
            return out;
        };
        for r in reports.iter() {
            for tr in &r.tokens {
                if tr.token.pin.locked {
                    out.push(tf("gui.pin_bloque", &[("label", &tr.token.label)]));
                } else if tr.token.pin.final_try || tr.token.pin.count_low {
                    out.push(tf("gui.pin_bas", &[("label", &tr.token.label)]));
                }
                for c in &tr.certificates {
                    match c.info.validity_now() {
                        ValidityState::ExpireBientot { jours } => out.push(tf(
                            "carte.expire_bientot",
                            &[
                                ("sujet", c.info.display_name()),
                                ("jours", &jours.to_string()),
                                ("date", &date_fr(c.info.not_after)),
                            ],
                        )),
                        ValidityState::Expire if !c.info.roles.is_empty() => out.push(tf(
                            "gui.certificat_expire",
                            &[
                                ("sujet", c.info.display_name()),
                                ("date", &date_fr(c.info.not_after)),
                            ],
                        )),
                        _ => {}
                    }
                }
            }
        }
        out
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![
            text(t("gui.certificats_titre")).size(theme::TITLE),
            button(text(if self.scanning {
                t("gui.recherche")
            } else {
                t("gui.actualiser")
            }))
            .on_press_maybe((!self.scanning).then_some(Message::Rescan)),
        ]
        .spacing(theme::GAP);
        match &self.reports {
            None => col = col.push(text(t("gui.recherche"))),
            Some(reports) if reports.iter().all(|r| r.tokens.is_empty()) => {
                col = col.push(text(t("carte.aucun_jeton")).size(theme::TEXT));
            }
            Some(reports) => {
                for r in reports.iter() {
                    for tr in &r.tokens {
                        let pin = if tr.token.pin.locked {
                            t("cartes.etat_pin_bloque")
                        } else if tr.token.pin.final_try {
                            t("cartes.etat_pin_dernier")
                        } else if tr.token.pin.count_low {
                            t("cartes.etat_pin_bas")
                        } else {
                            t("cartes.etat_pin_ok")
                        };
                        col = col.push(
                            text(format!(
                                "« {} » — {} {} — {pin}",
                                tr.token.label, tr.token.manufacturer, tr.token.model
                            ))
                            .size(theme::HEADING),
                        );
                        for c in &tr.certificates {
                            let roles: Vec<String> = c.info.roles.iter().map(Role::label).collect();
                            let validity = match c.info.validity_now() {
                                ValidityState::Expire => {
                                    tf("cartes.expire_le", &[("date", &date_fr(c.info.not_after))])
                                }
                                ValidityState::PasEncoreValide => tf(
                                    "cartes.pas_encore_valide",
                                    &[("date", &date_fr(c.info.not_before))],
                                ),
                                _ => tf(
                                    "cartes.valide_jusqu_au",
                                    &[("date", &date_fr(c.info.not_after))],
                                ),
                            };
                            col = col.push(
                                column![
                                    text(c.info.display_name().to_owned()).size(theme::TEXT),
                                    text(format!(
                                        "{} : {} — {validity} — {}",
                                        t("cartes.roles"),
                                        if roles.is_empty() {
                                            "—".to_owned()
                                        } else {
                                            roles.join(", ")
                                        },
                                        c.info.key_type
                                    ))
                                    .size(theme::SMALL),
                                ]
                                .spacing(2),
                            );
                        }
                    }
                }
            }
        }
        scrollable(col).into()
    }
}
