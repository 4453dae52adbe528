//! Accueil: what needs attention.

use super::{certificats, envois};
use crate::gui::theme;
use crate::messages::{t, tf};
use crate::platform::demo::Demo;
use iced::Element;
use iced::widget::{button, column, text};

/// The demonstration platform, as the home screen shows it.
#[derive(Debug, Clone, Default)]
pub enum DemoStatus {
    #[default]
    Off,
    Starting,
    Ready(Demo),
    Failed(String),
}

pub fn view<'a, M: Clone + 'a>(
    envois: &'a envois::State,
    certs: &'a certificats::State,
    demo: &'a DemoStatus,
    setup_gaps: Vec<String>,
    start_demo: M,
    open_settings: M,
) -> Element<'a, M> {
    let mut items = column![].spacing(theme::GAP * 1.5);
    // A first launch: what to set up comes first, with the way there.
    if !setup_gaps.is_empty() {
        items = items.push(text(t("gui.accueil_pour_commencer")).size(theme::TITLE));
        for gap in setup_gaps {
            items = items.push(text(gap).size(theme::TEXT));
        }
        items =
            items.push(button(text(t("gui.accueil_ouvrir_parametres"))).on_press(open_settings));
    }
    items = items.push(text(t("gui.accueil_titre")).size(theme::TITLE));
    let mut attention = 0;
    for (state, count) in envois.counts() {
        use crate::outbox::State;
        if matches!(
            state,
            State::Prepare | State::Signe | State::EnAttente | State::Erreur | State::Refuse
        ) && *count > 0
        {
            attention += 1;
            let line = if *count == 1 {
                tf("gui.accueil_envoi_un", &[("etat", &state.label())])
            } else {
                tf(
                    "gui.accueil_envois",
                    &[("n", &count.to_string()), ("etat", &state.label())],
                )
            };
            items = items.push(text(line).size(theme::TEXT));
        }
    }
    for (genre, count) in envois.received() {
        attention += 1;
        items = items.push(
            text(tf(
                "gui.accueil_recus",
                &[
                    ("n", &count.to_string()),
                    ("quoi", &super::envoi_detail::kind_label(genre)),
                ],
            ))
            .size(theme::TEXT),
        );
    }
    if envois.to_attach() > 0 {
        attention += 1;
        let line = match envois.to_attach() {
            1 => t("gui.accueil_a_rattacher_un"),
            n => tf("gui.accueil_a_rattacher", &[("n", &n.to_string())]),
        };
        items = items.push(text(line).size(theme::TEXT));
    }
    if let Some(notice) = envois.classification_notice() {
        attention += 1;
        items = items.push(text(notice.to_owned()).size(theme::TEXT));
    }
    for warning in certs.warnings() {
        attention += 1;
        items = items.push(text(warning).size(theme::TEXT));
    }
    if attention == 0 {
        items = items.push(text(t("gui.accueil_rien")).size(theme::TEXT));
    }
    items = items.push(text(t("gui.demo_titre")).size(theme::HEADING));
    items = match demo {
        DemoStatus::Off => items
            .push(text(t("gui.demo_explication")).size(theme::TEXT))
            .push(button(text(t("gui.demo_demarrer"))).on_press(start_demo)),
        DemoStatus::Starting => items.push(text(t("gui.demo_demarrage")).size(theme::TEXT)),
        DemoStatus::Ready(d) => items.push(
            text(tf(
                "gui.demo_prete",
                &[
                    ("adresse", &d.adresse),
                    (
                        "mot_de_passe",
                        crate::platform::sandbox::pki::DEMO_P12_PASSWORD,
                    ),
                ],
            ))
            .size(theme::TEXT),
        ),
        DemoStatus::Failed(e) => items
            .push(text(e.clone()).size(theme::TEXT))
            .push(button(text(t("gui.demo_demarrer"))).on_press(start_demo)),
    };
    items.into()
}
