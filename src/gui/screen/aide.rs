//! Aide (and F1): the README's sections for the person at the desk — what Paraphe does, setting
//! up a real card, troubleshooting — readable offline. They are taken from the README itself at
//! build time, so the help and the README can never say two different things.

use crate::gui::theme;
use crate::messages::t;
use iced::Element;
use iced::widget::{column, markdown, text};

/// The README, as built into the program.
const README: &str = include_str!("../../../README.md");

/// The README's `##` sections shown, in this order: the ones written for the people who use
/// Paraphe (the command line and the developers' sections stay in the README).
pub const SECTIONS: [&str; 3] = [
    "Ce que fait Paraphe",
    "Installer une vraie carte",
    "Dépannage",
];

/// The `##` section of `readme` titled `title`, heading included, up to the next `##` or `#`
/// heading; `None` when there is no such section. Lines inside code blocks are never taken for
/// headings (a shell comment starts with `#`).
pub fn section<'a>(readme: &'a str, title: &str) -> Option<&'a str> {
    let mut start = None;
    let mut in_code = false;
    let mut offset = 0;
    for line in readme.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && (trimmed.starts_with("## ") || trimmed.starts_with("# ")) {
            match start {
                Some(begin) => return Some(&readme[begin..offset]),
                None if trimmed.strip_prefix("## ").map(str::trim) == Some(title) => {
                    start = Some(offset);
                }
                None => {}
            }
        }
        offset += line.len();
    }
    start.map(|begin| &readme[begin..])
}

/// The help's text: the sections of [`SECTIONS`] found in `readme`, in order.
pub fn help_text(readme: &str) -> String {
    SECTIONS
        .iter()
        .filter_map(|title| section(readme, title))
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct State {
    /// The help, parsed once.
    content: markdown::Content,
}

impl Default for State {
    fn default() -> Self {
        State {
            content: markdown::Content::parse(&help_text(README)),
        }
    }
}

impl State {
    /// The help; a link in it leads nowhere (the help is read offline): `on_link` is what the
    /// screen does with one.
    pub fn view<'a, M: Clone + 'a>(&'a self, on_link: M) -> Element<'a, M> {
        let body = markdown::view(
            self.content.items(),
            markdown::Settings::with_text_size(theme::TEXT, iced::Theme::Light),
        )
        .map(move |_| on_link.clone());
        theme::scrolling(
            column![
                text(t("gui.aide_titre")).size(theme::TITLE),
                text(t("gui.aide_intro")).size(theme::SMALL),
                body,
            ]
            .spacing(theme::GAP),
        )
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every section the help shows is in the README (a renamed heading would empty the help),
    /// and nothing of the command line or of the developers' part comes with it.
    #[test]
    fn the_help_holds_the_readme_s_user_sections_and_only_them() {
        for title in SECTIONS {
            let found = section(README, title).unwrap_or_else(|| panic!("« {title} » absent"));
            assert!(found.starts_with(&format!("## {title}")), "{title}");
            assert!(found.lines().count() > 3, "{title}: empty");
        }
        let help = help_text(README);
        assert!(help.contains("pcscd"), "troubleshooting's content");
        for other in [
            "## Ligne de commande",
            "## Développement",
            "### Architecture",
        ] {
            assert!(!help.contains(other), "{other}");
        }
    }

    /// A `#` line inside a code block does not end a section.
    #[test]
    fn a_shell_comment_in_a_code_block_is_not_a_heading() {
        let readme = "# T\n## A\nun\n```sh\n# commentaire\n```\ndeux\n## B\ntrois\n";
        assert_eq!(
            section(readme, "A"),
            Some("## A\nun\n```sh\n# commentaire\n```\ndeux\n")
        );
        assert_eq!(section(readme, "B"), Some("## B\ntrois\n"));
        assert_eq!(section(readme, "C"), None);
    }
}
