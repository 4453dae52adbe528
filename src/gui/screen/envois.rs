//! Envois: the outbox, newest first; only one page of rows is built.

use crate::gui::{background, theme};
use crate::messages::{t, tf};
use crate::outbox::{Filter, Item, Outbox, State as ItemState};
use iced::widget::{button, column, row, scrollable, text};
use iced::{Element, Length, Task};

const PAGE: usize = 100;

#[derive(Default)]
pub struct State {
    items: Vec<Item>,
    counts: Vec<(ItemState, u64)>,
    error: Option<String>,
    page: usize,
}

/// One page of items and the counts per state.
type Page = (Vec<Item>, Vec<(ItemState, u64)>);

#[derive(Debug, Clone)]
pub enum Message {
    Loaded(Option<Result<Page, String>>),
    Page(usize),
}

fn load(page: usize) -> Task<Message> {
    Task::perform(
        background(move || {
            let outbox = Outbox::open_default().map_err(|e| e.to_string())?;
            let items = outbox
                .list(&Filter {
                    limite: Some(PAGE),
                    decalage: page * PAGE,
                    ..Default::default()
                })
                .map_err(|e| e.to_string())?;
            let counts = outbox.counts().map_err(|e| e.to_string())?;
            Ok((items, counts))
        }),
        Message::Loaded,
    )
}

pub fn refresh() -> Task<Message> {
    load(0)
}

impl State {
    pub fn counts(&self) -> &[(ItemState, u64)] {
        &self.counts
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Loaded(Some(Ok((items, counts)))) => {
                self.items = items;
                self.counts = counts;
                self.error = None;
            }
            Message::Loaded(Some(Err(e))) => self.error = Some(e),
            Message::Loaded(None) => {}
            Message::Page(p) => {
                self.page = p;
                return load(p);
            }
        }
        Task::none()
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![text(t("gui.envois_titre")).size(theme::TITLE)].spacing(theme::GAP);
        if let Some(e) = &self.error {
            col = col.push(text(e.clone()));
        }
        if self.items.is_empty() {
            col = col.push(text(t("gui.envois_vide")).size(theme::TEXT));
        }
        for item in &self.items {
            col = col.push(
                row![
                    text(item.libelle.clone())
                        .width(Length::FillPortion(3))
                        .size(theme::TEXT),
                    text(item.numero_interne.clone().unwrap_or_default())
                        .width(Length::FillPortion(1))
                        .size(theme::TEXT),
                    text(item.etat.label())
                        .width(Length::FillPortion(2))
                        .size(theme::TEXT),
                    text(french_datetime(&item.modifie_le))
                        .width(Length::FillPortion(2))
                        .size(theme::SMALL),
                ]
                .spacing(theme::GAP),
            );
        }
        let nav = row![
            button(text(t("gui.precedent")))
                .on_press_maybe((self.page > 0).then(|| Message::Page(self.page - 1))),
            text(tf("gui.page", &[("n", &(self.page + 1).to_string())])),
            button(text(t("gui.suivant")))
                .on_press_maybe((self.items.len() == PAGE).then(|| Message::Page(self.page + 1))),
        ]
        .spacing(theme::GAP);
        column![scrollable(col).height(Length::Fill), nav]
            .spacing(theme::GAP)
            .into()
    }
}

/// `2026-11-27T10:00:00Z` → `27/11/2026 10:00` (UTC shown in local time would need the time zone
/// database; the outbox stores UTC and says so).
fn french_datetime(iso: &str) -> String {
    match time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339) {
        Ok(dt) => format!(
            "{} {:02}:{:02} UTC",
            crate::certs::date_fr(dt),
            dt.hour(),
            dt.minute()
        ),
        Err(_) => iso.to_owned(),
    }
}
