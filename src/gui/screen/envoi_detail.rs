//! One item of the outbox in detail: its state and platform id, the PES_Acquit read per
//! bordereau with the comptable's errors, what the platform and the préfecture sent back (AR,
//! bordereau, stamped act, letters) each openable with the system viewer, and the journal.

use crate::gui::theme;
use crate::messages::{t, tf};
use crate::outbox::{Item, JournalEntry, Outbox};
use crate::pes::acquit::{Acquit, read_acquit};
use crate::pes::retour::{Retour, read_retour};
use iced::widget::{button, column, row, text};
use iced::{Element, Length};
use std::path::PathBuf;

/// Something the item received, as listed (the content stays in the outbox until opened).
#[derive(Debug, Clone)]
pub struct Received {
    pub genre: String,
    pub nom: String,
    pub taille: usize,
}

#[derive(Debug, Clone)]
pub struct Detail {
    pub item: Item,
    pub recus: Vec<Received>,
    /// The PES_Acquit, read, when one came.
    pub acquit: Option<Acquit>,
    /// The comptable's PES_Retour that answer this PES, read.
    pub retours: Vec<Retour>,
    pub journal: Vec<JournalEntry>,
}

/// Read everything about item `id` (off the UI thread).
pub fn load(id: i64) -> Result<Detail, String> {
    let outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let item = outbox.get(id).map_err(|e| e.to_string())?;
    let received = outbox.received(id).map_err(|e| e.to_string())?;
    let acquit = received
        .iter()
        .rev()
        .find(|(genre, _, _)| genre == "pes_acquit")
        .and_then(|(_, _, bytes)| read_acquit(bytes.as_slice()).ok());
    let retours = received
        .iter()
        .filter(|(genre, _, _)| genre == "pes_retour")
        .filter_map(|(_, _, bytes)| read_retour(bytes.as_slice()).ok())
        .collect();
    let recus = received
        .iter()
        .map(|(genre, nom, bytes)| Received {
            genre: genre.clone(),
            nom: nom.clone(),
            taille: bytes.len(),
        })
        .collect();
    let journal = outbox.journal(id).map_err(|e| e.to_string())?;
    Ok(Detail {
        item,
        recus,
        acquit,
        retours,
        journal,
    })
}

/// Write what item `id` received as `nom` to a private folder of the data directory, then hand
/// it to the system's viewer. Returns the file written.
pub fn open_received(id: i64, index: usize) -> Result<PathBuf, String> {
    let outbox = Outbox::open_default().map_err(|e| e.to_string())?;
    let received = outbox.received(id).map_err(|e| e.to_string())?;
    let (_, nom, bytes) = received
        .get(index)
        .ok_or_else(|| t("gui.envoi_document_absent"))?;
    let dir = crate::settings::data_dir()
        .map_err(|e| e.to_string())?
        .join("recus")
        .join(id.to_string());
    crate::logging::create_private_dir(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(crate::platform::s2low::sanitise_name(nom));
    crate::logging::write_private(&path, bytes).map_err(|e| e.to_string())?;
    crate::gui::open_with_system(&path)?;
    Ok(path)
}

/// What a received document is, in words.
pub fn kind_label(genre: &str) -> String {
    let key = format!("gui.recu_{genre}");
    let label = t(&key);
    if label.starts_with('⟦') {
        genre.replace('_', " ")
    } else {
        label
    }
}

pub fn view<'a, M: Clone + 'a>(
    detail: &'a Detail,
    open: impl Fn(usize) -> M + 'a,
    reply: impl Fn(usize) -> M + 'a,
    close: M,
) -> Element<'a, M> {
    let item = &detail.item;
    let mut col = column![
        row![
            text(item.libelle.clone()).size(theme::HEADING),
            button(text(t("gui.fermer"))).on_press(close),
        ]
        .spacing(theme::GAP),
        text(tf(
            "gui.envoi_etat",
            &[
                ("etat", &item.state_label()),
                ("plateforme", item.id_plateforme.as_deref().unwrap_or("—")),
            ],
        ))
        .size(theme::TEXT),
    ]
    .spacing(theme::GAP);
    if let Some(acquit) = &detail.acquit {
        col = col.push(text(t("gui.envoi_acquit")).size(theme::HEADING));
        for e in &acquit.elements {
            let what = match (&e.bordereau, &e.id_unique) {
                (Some(n), _) => tf(
                    "acquit.ligne_bordereau",
                    &[
                        ("numero", n),
                        ("exercice", e.exercice.as_deref().unwrap_or("?")),
                    ],
                ),
                (None, Some(id)) => tf("acquit.ligne_pj", &[("id", id)]),
                (None, None) => e.domaine_libelle.clone(),
            };
            let state = if e.etat {
                t("acquit.accepte")
            } else {
                t("acquit.refuse")
            };
            col = col.push(text(format!("{what} : {state}")).size(theme::TEXT));
            for err in &e.erreurs {
                col = col.push(
                    text(format!("    {} — {}", err.code, err.explication)).size(theme::SMALL),
                );
            }
        }
    }
    for retour in &detail.retours {
        col = col.push(
            text(tf(
                "gui.envoi_retour",
                &[("date", retour.date.as_deref().unwrap_or("?"))],
            ))
            .size(theme::HEADING),
        );
        for b in &retour.bordereaux {
            col = col.push(
                text(tf(
                    "acquit.ligne_bordereau",
                    &[
                        ("numero", b.numero.as_deref().unwrap_or("?")),
                        ("exercice", b.exercice.as_deref().unwrap_or("?")),
                    ],
                ))
                .size(theme::TEXT),
            );
            for p in &b.pieces {
                let mut line = tf(
                    "retour.piece",
                    &[
                        ("id", p.id.as_deref().unwrap_or("?")),
                        ("etat", p.etat.as_deref().unwrap_or("?")),
                        ("objet", p.objet.as_deref().unwrap_or("")),
                    ],
                );
                if let Some(date) = &p.date_prise_en_charge {
                    line.push_str(&tf("gui.envoi_retour_prise_en_charge", &[("date", date)]));
                }
                col = col.push(text(format!("    {line}")).size(theme::SMALL));
            }
        }
    }
    if !detail.recus.is_empty() {
        col = col.push(text(t("gui.envoi_recus")).size(theme::HEADING));
        for (i, r) in detail.recus.iter().enumerate() {
            let mut line = row![
                text(format!(
                    "{} — {} ({})",
                    kind_label(&r.genre),
                    r.nom,
                    crate::actes::files::human_size(r.taille as u64)
                ))
                .width(Length::Fill)
                .size(theme::TEXT),
                button(text(t("gui.ouvrir"))).on_press(open(i)),
            ]
            .spacing(theme::GAP)
            .align_y(iced::alignment::Vertical::Center);
            if answerable(&r.genre, &r.nom).is_some() {
                line = line.push(button(text(t("gui.repondre"))).on_press(reply(i)));
            }
            col = col.push(line);
        }
    }
    col = col.push(text(t("gui.envoi_journal")).size(theme::HEADING));
    for j in &detail.journal {
        let mut line = format!("{} — {}", theme::french_datetime(&j.le), j.evenement);
        if let Some(after) = j.etat_apres {
            line.push_str(&format!(" → {}", after.label()));
        }
        if !j.detail.is_empty() {
            line.push_str(&format!(" : {}", j.detail));
        }
        col = col.push(text(line).size(theme::SMALL));
    }
    col.into()
}

/// The type of a préfecture letter received (genre `courrier_prefecture_K`, file
/// `…-courrier-N.tar.gz`) when it can be answered through the platform: a courrier simple (2),
/// a demande de pièces (3) or a lettre d'observations (4). A déféré (5) goes to the tribunal.
pub fn answerable(genre: &str, nom: &str) -> Option<u8> {
    let kind = genre.strip_prefix("courrier_prefecture_")?.parse().ok()?;
    (matches!(kind, 2..=4) && crate::platform::courrier_number(nom).is_some()).then_some(kind)
}
