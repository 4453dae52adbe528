//! The window (iced). For now the home screen frame; screens grow with the library.

use crate::messages::t;
use iced::widget::{column, container, text};
use iced::{Element, Length};

#[derive(Debug, Default)]
struct Paraphe;

#[derive(Debug, Clone)]
enum Message {}

impl Paraphe {
    fn update(&mut self, message: Message) {
        match message {}
    }

    fn view(&self) -> Element<'_, Message> {
        container(
            column![
                text(t("application.titre")).size(32),
                text(t("application.sous_titre")).size(16),
            ]
            .spacing(8),
        )
        .padding(24)
        .width(Length::Fill)
        .height(Length::Fill)
        .into()
    }
}

/// Open the window and run until it is closed.
pub fn run() -> iced::Result {
    iced::application(Paraphe::default, Paraphe::update, Paraphe::view)
        .title(|_: &Paraphe| t("application.titre"))
        .window_size((1280.0, 800.0))
        .run()
}
