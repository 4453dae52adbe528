//! « Parcourir… »: the system's own file dialogs (the XDG desktop portal on Linux — GNOME, KDE —,
//! the native dialog on Windows) through `rfd`, the crate iced applications use. Typing a path and
//! dropping a file on the window stay: a dialog is a convenience, never the only way.
//!
//! A screen asks with a [`Request`] (what is chosen, which types); the request is plain data so
//! that tests can see which dialog a button asks for without opening one.

use crate::messages::t;
use std::path::PathBuf;

/// What is chosen, which decides the dialog's filter and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A PES_Aller (`.xml`).
    Pes,
    /// An act or an annexe: PDF, JPEG or PNG (what ACTES accepts).
    Acte,
    /// A lot of envois from another workstation (`.zip`).
    Lot,
    /// An encrypted bid, or the folder of a consultation's bids.
    Pli,
    /// A letter answering the préfecture (PDF).
    Lettre,
    /// A folder (where to write).
    Dossier,
}

/// How the dialog is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Open,
    /// Several files at once (annexes).
    OpenMany,
    Save,
    Folder,
}

/// A dialog to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub mode: Mode,
}

impl Request {
    pub fn open(kind: Kind) -> Request {
        Request {
            kind,
            mode: Mode::Open,
        }
    }

    pub fn open_many(kind: Kind) -> Request {
        Request {
            kind,
            mode: Mode::OpenMany,
        }
    }

    pub fn save(kind: Kind) -> Request {
        Request {
            kind,
            mode: Mode::Save,
        }
    }

    pub fn folder() -> Request {
        Request {
            kind: Kind::Dossier,
            mode: Mode::Folder,
        }
    }

    /// The filter offered: a French name and the extensions, or none (folders, bids whose
    /// armours vary).
    pub fn filter(&self) -> Option<(String, &'static [&'static str])> {
        let exts: &'static [&'static str] = match self.kind {
            Kind::Pes => &["xml", "XML"],
            Kind::Acte => &["pdf", "PDF", "jpg", "jpeg", "JPG", "JPEG", "png", "PNG"],
            Kind::Lot => &["zip", "ZIP"],
            Kind::Lettre => &["pdf", "PDF"],
            Kind::Pli | Kind::Dossier => return None,
        };
        Some((t(&format!("gui.dialogue_filtre_{}", self.kind_key())), exts))
    }

    /// The dialog's title, in French.
    pub fn title(&self) -> String {
        match self.mode {
            Mode::Folder => t("gui.dialogue_titre_dossier"),
            Mode::Save => t("gui.dialogue_titre_enregistrer"),
            Mode::Open | Mode::OpenMany => t(&format!("gui.dialogue_titre_{}", self.kind_key())),
        }
    }

    fn kind_key(&self) -> &'static str {
        match self.kind {
            Kind::Pes => "pes",
            Kind::Acte => "acte",
            Kind::Lot => "lot",
            Kind::Pli => "pli",
            Kind::Lettre => "lettre",
            Kind::Dossier => "dossier",
        }
    }
}

/// Show the dialog `request` asks for and wait for the person's choice (nothing when they close
/// it, or when no dialog can be shown — then the path is typed). Blocking: call it off the UI
/// thread ([`choose`]).
fn show(request: &Request) -> Vec<PathBuf> {
    let mut dialog = rfd::FileDialog::new().set_title(request.title());
    if let Some((name, exts)) = request.filter() {
        dialog = dialog.add_filter(name, exts);
    }
    if let Some(home) = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")) {
        dialog = dialog.set_directory(home);
    }
    match request.mode {
        Mode::Open => dialog.pick_file().into_iter().collect(),
        Mode::OpenMany => dialog.pick_files().unwrap_or_default(),
        Mode::Save => dialog.save_file().into_iter().collect(),
        Mode::Folder => dialog.pick_folder().into_iter().collect(),
    }
}

/// Show the dialog off the UI thread; `done` receives what was chosen (empty: nothing).
pub fn choose<M: Send + 'static>(
    request: Request,
    done: impl Fn(Vec<PathBuf>) -> M + Send + 'static,
) -> iced::Task<M> {
    iced::Task::perform(super::background(move || show(&request)), move |chosen| {
        done(chosen.unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind offers the types that really are accepted, with a French name.
    #[test]
    fn each_dialog_filters_what_is_accepted() {
        let (name, exts) = Request::open(Kind::Acte).filter().expect("filter");
        assert!(exts.contains(&"pdf") && exts.contains(&"png") && exts.contains(&"jpeg"));
        assert!(!name.contains('⟦'), "{name}");
        let (_, exts) = Request::open(Kind::Pes).filter().expect("filter");
        assert_eq!(exts, ["xml", "XML"]);
        assert!(Request::folder().filter().is_none());
        for kind in [
            Kind::Pes,
            Kind::Acte,
            Kind::Lot,
            Kind::Pli,
            Kind::Lettre,
            Kind::Dossier,
        ] {
            let title = Request::open(kind).title();
            assert!(!title.contains('⟦'), "{kind:?}: {title}");
        }
        assert!(!Request::save(Kind::Lot).title().contains('⟦'));
    }
}
