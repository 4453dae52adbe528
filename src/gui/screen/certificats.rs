//! Certificats: modules, tokens, certificates by role, expiry, PIN state; the certificate used
//! for each role chosen here (written to the settings).

use crate::card::inventory::{ModuleReport, scan as scan_inventory};
use crate::certs::{Role, ValidityState, date_fr};
use crate::gui::{background, theme};
use crate::messages::{t, tf};
use iced::widget::{button, column, row, text};
use iced::{Element, Length, Task};
use std::sync::Arc;

#[derive(Default)]
pub struct State {
    reports: Option<Arc<Vec<ModuleReport>>>,
    scanning: bool,
    /// The card settings read with the last scan (which key is chosen for each role).
    carte: crate::settings::CardSettings,
    /// What the last choice did.
    chosen: Option<Result<String, String>>,
}

/// A certificate chosen for a role: where it lives and its CKA_ID.
#[derive(Debug, Clone)]
pub struct Choice {
    pub role: Role,
    pub module: std::path::PathBuf,
    pub jeton: String,
    pub cka_id: String,
    pub nom: String,
}

/// Write the choice to the settings (module, token and the role's key), keeping the rest.
pub fn choose(choice: &Choice) -> Result<crate::settings::CardSettings, String> {
    let mut settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    let carte = &mut settings.carte;
    carte.module = Some(choice.module.clone());
    carte.jeton = Some(choice.jeton.clone());
    let slot = match choice.role {
        Role::Signature => &mut carte.cle_signature,
        Role::Authentification => &mut carte.cle_authentification,
        Role::Chiffrement => &mut carte.cle_chiffrement,
    };
    *slot = Some(choice.cka_id.clone());
    let carte = settings.carte.clone();
    settings.save().map_err(|e| e.to_string())?;
    Ok(carte)
}

/// The role's key chosen in the card settings, if any.
fn chosen_id(carte: &crate::settings::CardSettings, role: Role) -> Option<&str> {
    match role {
        Role::Signature => carte.cle_signature.as_deref(),
        Role::Authentification => carte.cle_authentification.as_deref(),
        Role::Chiffrement => carte.cle_chiffrement.as_deref(),
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Rescan,
    Scanned(Option<Scan>),
    Choose(Choice),
    Chosen(Option<Result<(crate::settings::CardSettings, String), String>>),
}

/// What a scan found, and the card settings of the moment.
pub type Scan = (Arc<Vec<ModuleReport>>, crate::settings::CardSettings);

impl std::fmt::Debug for ModuleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleReport({})", self.candidate.path.display())
    }
}

/// Scan modules and tokens on a worker thread.
pub fn scan() -> Task<Message> {
    Task::perform(
        background(|| {
            let carte = crate::settings::Settings::load()
                .map(|s| s.carte)
                .unwrap_or_default();
            let reports = Arc::new(scan_inventory(None, carte.module.clone()));
            (reports, carte)
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
            Message::Scanned(scan) => {
                self.scanning = false;
                if let Some((reports, carte)) = scan {
                    self.reports = Some(reports);
                    self.carte = carte;
                }
                Task::none()
            }
            Message::Choose(choice) => Task::perform(
                background(move || {
                    let said = tf(
                        "gui.certificat_choisi",
                        &[("nom", &choice.nom), ("role", &choice.role.label())],
                    );
                    choose(&choice).map(|carte| (carte, said))
                }),
                Message::Chosen,
            ),
            Message::Chosen(result) => {
                self.chosen = Some(match result {
                    Some(Ok((carte, said))) => {
                        self.carte = carte;
                        Ok(said)
                    }
                    Some(Err(e)) => Err(e),
                    None => Err(t("gui.parametres_interrompu")),
                });
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
        match &self.chosen {
            Some(Ok(m)) | Some(Err(m)) => col = col.push(text(m.clone()).size(theme::TEXT)),
            None => {}
        }
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
                        // A store of authorities (p11-kit's « System Trust », say) is no card:
                        // one line, not hundreds of certificates nobody can sign with.
                        if !tr.certificates.is_empty()
                            && tr.certificates.iter().all(|c| c.info.roles.is_empty())
                        {
                            col = col.push(
                                text(tf(
                                    "gui.certificats_magasin",
                                    &[
                                        ("label", &tr.token.label),
                                        ("n", &tr.certificates.len().to_string()),
                                    ],
                                ))
                                .size(theme::SMALL),
                            );
                            continue;
                        }
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
                            let cka_id = hex::encode(&c.cka_id);
                            let mut choices = row![].spacing(theme::GAP);
                            for role in &c.info.roles {
                                if chosen_id(&self.carte, *role) == Some(cka_id.as_str()) {
                                    choices = choices.push(
                                        text(tf(
                                            "gui.certificat_utilise",
                                            &[("role", &role.label())],
                                        ))
                                        .size(theme::SMALL),
                                    );
                                } else {
                                    choices = choices.push(
                                        button(
                                            text(tf(
                                                "gui.certificat_utiliser",
                                                &[("role", &role.label())],
                                            ))
                                            .size(theme::SMALL),
                                        )
                                        .on_press(
                                            Message::Choose(Choice {
                                                role: *role,
                                                module: r.candidate.path.clone(),
                                                jeton: tr.token.label.clone(),
                                                cka_id: cka_id.clone(),
                                                nom: c.info.display_name().to_owned(),
                                            }),
                                        ),
                                    );
                                }
                            }
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
                                    choices,
                                ]
                                .spacing(2),
                            );
                        }
                    }
                }
            }
        }
        theme::scrolling(col.width(Length::Fill))
            .width(Length::Fill)
            .into()
    }
}
