//! Reading items back: one item, its files, its journal and what it received; the filtered,
//! searched and paged list; the counts and questions of the home screen.

use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};

use super::{Item, ItemFile, JournalEntry, Kind, Outbox, OutboxError, State};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub genre: Option<Kind>,
    pub etats: Vec<State>,
    /// ISO 8601 bounds on the last change.
    pub depuis: Option<String>,
    pub jusqu_a: Option<String>,
    pub limite: Option<usize>,
    pub decalage: usize,
    /// Text to find (trimmed; case and accents ignored, `%` and `_` literal) in the libellé,
    /// the numéro interne, the platform's id, the act's IDActe or the name of one of the files.
    pub chercher: Option<String>,
    /// Only the items of the collectivité with this SIREN (several served from one workstation).
    pub siren: Option<String>,
    /// The order of the list (by default the most recently changed first).
    pub tri: Tri,
    /// Ascending order (A to Z, oldest first, the life cycle's order) rather than descending.
    pub croissant: bool,
}

/// What the list is ordered by; ties keep the newest item first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tri {
    /// The last change.
    #[default]
    Modification,
    /// The libellé (objet of an act, name of a PES).
    Objet,
    /// The numéro interne.
    Numero,
    /// The state, in the order of the life cycle (brouillon first, annulé last).
    Etat,
    /// The collectivité (by SIREN: the items of each one together).
    Collectivite,
}

impl Tri {
    /// The `ORDER BY` clause: a fixed text per value, the direction one of two words — nothing
    /// typed by a person reaches the SQL.
    fn order_by(self, croissant: bool) -> String {
        let dir = if croissant { "ASC" } else { "DESC" };
        let column = match self {
            Tri::Modification => format!("modifie_le {dir}"),
            // NOCASE folds ASCII only: « école » sorts after « Zone », as in most spreadsheets.
            Tri::Objet => format!("libelle COLLATE NOCASE {dir}"),
            Tri::Numero => format!("numero_interne COLLATE NOCASE {dir}"),
            Tri::Etat => {
                let mut case = String::from("CASE etat");
                for (rank, state) in State::ALL.iter().enumerate() {
                    case.push_str(&format!(" WHEN '{}' THEN {rank}", state.key()));
                }
                format!("{case} END {dir}")
            }
            Tri::Collectivite => format!("siren {dir}"),
        };
        format!(" ORDER BY {column}, modifie_le DESC, id DESC")
    }
}

impl Outbox {
    /// What an item received: (kind, name, content).
    pub fn received(&self, id: i64) -> Result<Vec<(String, String, Vec<u8>)>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare("SELECT genre, nom, contenu FROM recus WHERE item_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn get(&self, id: i64) -> Result<Item, OutboxError> {
        self.conn
            .query_row(&format!("{SELECT_ITEM} WHERE id = ?1"), [id], row_to_item)
            .optional()?
            .ok_or(OutboxError::Unknown(id))
    }

    pub fn files(&self, id: i64) -> Result<Vec<ItemFile>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT role, chemin, sha256, taille FROM fichiers WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(ItemFile {
                role: r.get(0)?,
                chemin: PathBuf::from(r.get::<_, String>(1)?),
                sha256: r.get(2)?,
                taille: r.get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn journal(&self, id: i64) -> Result<Vec<JournalEntry>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT le, evenement, etat_avant, etat_apres, qui, detail, empreintes FROM journal WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(JournalEntry {
                le: r.get(0)?,
                evenement: r.get(1)?,
                etat_avant: r
                    .get::<_, Option<String>>(2)?
                    .and_then(|s| State::from_key(&s)),
                etat_apres: r
                    .get::<_, Option<String>>(3)?
                    .and_then(|s| State::from_key(&s)),
                qui: r.get(4)?,
                detail: r.get(5)?,
                empreintes: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items matching `filter`, most recently changed first; only the requested page is built.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Item>, OutboxError> {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(genre) = filter.genre {
            sql.push_str(" AND genre = ?");
            values.push(Box::new(genre.key()));
        }
        if !filter.etats.is_empty() {
            sql.push_str(&format!(
                " AND etat IN ({})",
                vec!["?"; filter.etats.len()].join(", ")
            ));
            for s in &filter.etats {
                values.push(Box::new(s.key()));
            }
        }
        if let Some(d) = &filter.depuis {
            sql.push_str(" AND modifie_le >= ?");
            values.push(Box::new(d.clone()));
        }
        if let Some(d) = &filter.jusqu_a {
            sql.push_str(" AND modifie_le <= ?");
            values.push(Box::new(d.clone()));
        }
        if let Some(siren) = filter.siren.as_deref().map(str::trim) {
            sql.push_str(" AND trim(siren) = ?");
            values.push(Box::new(siren.to_owned()));
        }
        sql.push_str(&filter.tri.order_by(filter.croissant));
        let searched = filter
            .chercher
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(crate::latin1::fold);
        let Some(needle) = searched else {
            sql.insert_str(0, SELECT_ITEM);
            sql.push_str(" LIMIT ? OFFSET ?");
            values.push(Box::new(filter.limite.map(|l| l as i64).unwrap_or(-1)));
            values.push(Box::new(filter.decalage as i64));
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
            let rows = stmt.query_map(params.as_slice(), row_to_item)?;
            return Ok(rows.collect::<Result<_, _>>()?);
        };
        // The text is compared in Rust, on the rows the other filters keep, and the page is cut
        // from the matches here: SQLite's LIKE folds neither accents nor non-ASCII case, and
        // teaching SQLite our folding (a scalar function) would take rusqlite's `functions`
        // feature, not enabled. An outbox holds thousands of items at most; the rows are read
        // one by one and only the page's items are kept. Comparing folded text with
        // `contains` also keeps `%` and `_` literal, with nothing to escape.
        sql.insert_str(0, SELECT_ITEM_SEARCHED);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let params: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let mut rows = stmt.query(params.as_slice())?;
        let mut page = Vec::new();
        let mut skipped = 0;
        while let Some(r) = rows.next()? {
            if filter.limite.is_some_and(|l| page.len() >= l) {
                break;
            }
            let item = row_to_item(r)?;
            let id_acte: Option<String> = r.get(10)?;
            let files: Option<String> = r.get(11)?;
            let found = |text: &str| crate::latin1::fold(text).contains(&needle);
            let matches = found(&item.libelle)
                || item.numero_interne.as_deref().is_some_and(found)
                || item.id_plateforme.as_deref().is_some_and(found)
                || id_acte.as_deref().is_some_and(found)
                || files.as_deref().is_some_and(|names| {
                    names.lines().any(|path| {
                        Path::new(path)
                            .file_name()
                            .is_some_and(|name| found(&name.to_string_lossy()))
                    })
                });
            if !matches {
                continue;
            }
            if skipped < filter.decalage {
                skipped += 1;
                continue;
            }
            page.push(item);
        }
        Ok(page)
    }

    /// Count per state (the home screen's "what needs attention").
    pub fn counts(&self) -> Result<Vec<(State, u64)>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare("SELECT etat, COUNT(*) FROM items GROUP BY etat")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (s, n) = row?;
            if let Some(s) = State::from_key(&s) {
                out.push((s, n.max(0) as u64));
            }
        }
        Ok(out)
    }

    /// What came back since `since` (RFC 3339), by kind of document (`accuse_reception`,
    /// `pes_acquit`, `courrier_prefecture_2`…), for the home screen.
    pub fn received_since(&self, since: &str) -> Result<Vec<(String, u64)>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT genre, COUNT(*) FROM recus WHERE le >= ?1 GROUP BY genre ORDER BY genre",
        )?;
        let rows = stmt.query_map([since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether a numéro interne was already used for this SIREN (cancelled items excepted).
    pub fn number_used(&self, siren: &str, numero: &str) -> Result<bool, OutboxError> {
        Ok(self.find_by_number(siren, numero)?.is_some())
    }

    /// The item (not cancelled) that holds this numéro interne for this SIREN.
    pub fn find_by_number(&self, siren: &str, numero: &str) -> Result<Option<Item>, OutboxError> {
        Ok(self
            .select_where(
                "siren = ?1 AND numero_interne = ?2 AND etat != 'annule'",
                params![siren, numero],
            )?
            .into_iter()
            .next())
    }

    /// The item's data (what the platform needs besides its files).
    pub fn data(&self, id: i64) -> Result<serde_json::Value, OutboxError> {
        let text: String = self
            .conn
            .query_row("SELECT donnees FROM items WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(OutboxError::Unknown(id))?;
        serde_json::from_str(&text).map_err(|e| OutboxError::Lot(e.to_string()))
    }

    /// Whether any act was acknowledged (the préfecture may still write about it).
    pub fn has_acknowledged_actes(&self) -> Result<bool, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM items WHERE genre = 'acte' AND etat = 'acquitte' LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Whether any PES reached the platform (the comptable may send PES_Retour back).
    pub fn has_sent_pes(&self) -> Result<bool, OutboxError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM items WHERE genre = 'pes' AND id_plateforme IS NOT NULL LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub(super) fn select_where(
        &self,
        condition: &str,
        values: impl rusqlite::Params,
    ) -> Result<Vec<Item>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_ITEM} WHERE {condition}"))?;
        let rows = stmt.query_map(values, row_to_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The columns [`row_to_item`] reads, in its order.
macro_rules! item_columns {
    () => {
        "id, genre, libelle, etat, cree_le, modifie_le, lot_id, siren, numero_interne, id_plateforme"
    };
}

const SELECT_ITEM: &str = concat!("SELECT ", item_columns!(), " FROM items");

/// An item's columns, then what a search looks into besides them: the act's IDActe kept in
/// `donnees` (as `queue_act` stores it) and the item's files, one a line (the file the person
/// gave, or the copy for items older than `origine`).
const SELECT_ITEM_SEARCHED: &str = concat!(
    "SELECT ",
    item_columns!(),
    ", CASE WHEN json_valid(donnees) THEN CAST(json_extract(donnees, '$.id_acte') AS TEXT) END,
     (SELECT group_concat(coalesce(origine, chemin), char(10)) FROM fichiers
      WHERE fichiers.item_id = items.id)
     FROM items"
);

fn row_to_item(r: &rusqlite::Row) -> rusqlite::Result<Item> {
    let genre: String = r.get(1)?;
    let etat: String = r.get(3)?;
    Ok(Item {
        id: r.get(0)?,
        genre: if genre == "pes" {
            Kind::Pes
        } else {
            Kind::Acte
        },
        libelle: r.get(2)?,
        etat: State::from_key(&etat).unwrap_or(State::Erreur),
        cree_le: r.get(4)?,
        modifie_le: r.get(5)?,
        lot_id: r.get(6)?,
        siren: r.get(7)?,
        numero_interne: r.get(8)?,
        id_plateforme: r.get(9)?,
    })
}
