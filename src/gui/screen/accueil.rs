//! Accueil: what needs attention.

use super::{certificats, envois};
use crate::gui::theme;
use crate::messages::{t, tf};
use iced::Element;
use iced::widget::{column, text};

pub fn view<'a, M: 'a>(envois: &'a envois::State, certs: &'a certificats::State) -> Element<'a, M> {
    let mut items =
        column![text(t("gui.accueil_titre")).size(theme::TITLE)].spacing(theme::GAP * 1.5);
    let mut attention = 0;
    for (state, count) in envois.counts() {
        use crate::outbox::State;
        if matches!(
            state,
            State::Prepare | State::Signe | State::EnAttente | State::Erreur | State::Refuse
        ) && *count > 0
        {
            attention += 1;
            items = items.push(
                text(tf(
                    "gui.accueil_envois",
                    &[("n", &count.to_string()), ("etat", &state.label())],
                ))
                .size(theme::TEXT),
            );
        }
    }
    for warning in certs.warnings() {
        attention += 1;
        items = items.push(text(warning).size(theme::TEXT));
    }
    if attention == 0 {
        items = items.push(text(t("gui.accueil_rien")).size(theme::TEXT));
    }
    items.into()
}
