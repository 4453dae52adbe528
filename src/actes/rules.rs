//! The rules an act must pass before it is sent, each a French [`Finding`] naming the field, and
//! the local register of numéros internes already used (a préfecture — and S²LOW — refuses a
//! number used before by the same collectivité).
//!
//! The strictest common reading of S²LOW, STELA and the schema is applied (see the reference
//! notes): numéro `^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$`, objet of 1 to 500 characters, date not
//! in the future, matière of the current classification, typology allowed for the nature, act in
//! PDF (XML only for a budget document classified 7.1, whose annexes are then PDF), annexes PDF,
//! JPEG or PNG, all files together within the size limit of the platform.

use serde::Serialize;
use time::Date;

use super::classification::{Classification, TypePj};
use super::files::{self, FileProblem, display_name, human_size};
use super::model::{
    Acte, CodeMatiere, Collectivite, Format, Nature, Piece, PieceSaisie, Saisie, french_date,
    parse_date,
};
use super::names::StyleNoms;
use super::register::{Registre, ReserveError};
use crate::findings::{Finding, Location};
use crate::messages::{t, tf};

/// Longest objet (schema: `maxLength 500`).
pub const MAX_OBJET: usize = 500;
/// Longest numéro interne.
pub const MAX_NUMERO: usize = 15;

// ---------------------------------------------------------------------------------------------
// Rules

/// What the rules need besides the act.
pub struct Contexte<'a> {
    /// Today, on the user's clock.
    pub aujourdhui: Date,
    /// Largest envoi accepted (all files together), in bytes.
    pub limite_octets: u64,
    /// The classification the matière is taken from.
    pub classification: Option<&'a Classification>,
    /// Date of a newer classification known locally, if `classification` is outdated.
    pub classification_plus_recente: Option<Date>,
    /// Numbers already used; `None` skips the uniqueness rule.
    pub registre: Option<&'a Registre>,
    pub style: StyleNoms,
}

/// The outcome of the rules.
#[derive(Debug, Clone, Serialize)]
pub struct Controle {
    pub constats: Vec<Finding>,
    /// The act, when no finding blocks it.
    #[serde(skip)]
    pub acte: Option<Acte>,
}

impl Controle {
    pub fn blocking(&self) -> usize {
        self.constats.iter().filter(|f| f.is_blocking()).count()
    }
}

fn at(field: &str) -> Location {
    Location {
        element: Some(field.to_owned()),
        ..Default::default()
    }
}

fn block(code: &'static str, field: &str, message: String) -> Finding {
    Finding::blocking(code, message, at(field))
}

fn warn(code: &'static str, field: &str, message: String) -> Finding {
    Finding::warning(code, message, at(field))
}

/// Nature: `1`…`6` or `DE`, `AR`…
pub fn check_nature(input: Option<&str>) -> Result<Nature, Finding> {
    let field = t("actes.champs.nature");
    match input.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(block(
            "actes.nature",
            &field,
            t("actes.regles.nature_absente"),
        )),
        Some(text) => Nature::parse(text).ok_or_else(|| {
            block(
                "actes.nature",
                &field,
                tf("actes.regles.nature_invalide", &[("valeur", text)]),
            )
        }),
    }
}

/// Numéro interne, S²LOW's pattern `^([A-Z0-9][A-Z0-9_]{0,13})?[A-Z0-9]$`; the message says
/// which character is wrong.
pub fn check_numero(input: Option<&str>) -> Result<String, Finding> {
    let field = t("actes.champs.numero");
    let fail = |message: String| Err(block("actes.numero", &field, message));
    let Some(numero) = input.filter(|s| !s.is_empty()) else {
        return fail(t("actes.regles.numero_absent"));
    };
    let count = numero.chars().count();
    if count > MAX_NUMERO {
        return fail(tf(
            "actes.regles.numero_long",
            &[
                ("numero", numero),
                ("longueur", &count.to_string()),
                ("max", &MAX_NUMERO.to_string()),
            ],
        ));
    }
    if let Some(c) = numero.chars().find(|c| c.is_lowercase()) {
        return fail(tf(
            "actes.regles.numero_minuscule",
            &[
                ("numero", numero),
                ("lettre", &c.to_string()),
                ("suggestion", &suggest_numero(numero)),
            ],
        ));
    }
    if let Some(c) = numero
        .chars()
        .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_'))
    {
        let shown = if c == ' ' {
            t("actes.regles.espace")
        } else {
            format!("« {c} »")
        };
        return fail(tf(
            "actes.regles.numero_caractere",
            &[("numero", numero), ("caractere", &shown)],
        ));
    }
    if numero.starts_with('_') || numero.ends_with('_') {
        return fail(tf("actes.regles.numero_souligne", &[("numero", numero)]));
    }
    Ok(numero.to_owned())
}

/// A numéro the pattern accepts, close to what was typed: upper case, accents removed, other
/// characters as `_`, at most 15 characters.
fn suggest_numero(numero: &str) -> String {
    let mut out = String::new();
    for c in numero.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if c.is_alphabetic() {
            let folded = super::classification::fold(&c.to_string()).to_ascii_uppercase();
            out.push_str(folded.trim());
        } else {
            out.push('_');
        }
    }
    let trimmed: String = out.trim_matches('_').chars().take(MAX_NUMERO).collect();
    trimmed.trim_end_matches('_').to_owned()
}

/// Uniqueness of the numéro for the collectivité.
pub fn check_numero_unique(registre: &Registre, siren: &str, numero: &str) -> Result<(), Finding> {
    match registre.used(siren, numero) {
        Ok(None) => Ok(()),
        Ok(Some(used)) => Err(block(
            "actes.numero_utilise",
            &t("actes.champs.numero"),
            ReserveError::Used(used).to_string(),
        )),
        Err(e) => Err(block(
            "actes.registre",
            &t("actes.champs.numero"),
            e.to_string(),
        )),
    }
}

/// Date de décision: a date, not after `today`.
pub fn check_date(input: Option<&str>, today: Date) -> Result<Date, Finding> {
    let field = t("actes.champs.date");
    let Some(text) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(block("actes.date", &field, t("actes.regles.date_absente")));
    };
    let Some(date) = parse_date(text) else {
        return Err(block(
            "actes.date",
            &field,
            tf("actes.regles.date_invalide", &[("valeur", text)]),
        ));
    };
    if date > today {
        return Err(block(
            "actes.date",
            &field,
            tf(
                "actes.regles.date_future",
                &[
                    ("date", &french_date(date)),
                    ("aujourdhui", &french_date(today)),
                ],
            ),
        ));
    }
    Ok(date)
}

/// Objet: 1 to 500 characters, none that XML cannot carry. At exactly 500, a warning for S²LOW
/// (its column holds 499).
pub fn check_objet(
    input: Option<&str>,
    style: StyleNoms,
) -> Result<(String, Vec<Finding>), Finding> {
    let field = t("actes.champs.objet");
    let Some(objet) = input.filter(|s| !s.trim().is_empty()) else {
        return Err(block("actes.objet", &field, t("actes.regles.objet_absent")));
    };
    let count = objet.chars().count();
    if count > MAX_OBJET {
        return Err(block(
            "actes.objet",
            &field,
            tf(
                "actes.regles.objet_long",
                &[
                    ("longueur", &count.to_string()),
                    ("max", &MAX_OBJET.to_string()),
                    ("exces", &(count - MAX_OBJET).to_string()),
                ],
            ),
        ));
    }
    if let Some((i, c)) = objet.chars().enumerate().find(|(_, c)| !xml_char_ok(*c)) {
        return Err(block(
            "actes.objet",
            &field,
            tf(
                "actes.regles.objet_caractere",
                &[
                    ("code", &format!("U+{:04X}", u32::from(c))),
                    ("position", &(i + 1).to_string()),
                ],
            ),
        ));
    }
    let mut warnings = Vec::new();
    if count == MAX_OBJET && style == StyleNoms::S2low {
        warnings.push(warn("actes.objet", &field, t("actes.regles.objet_s2low")));
    }
    // S²LOW reads the objet in ISO-8859-1: what a word processor types (’ œ € …) is
    // transliterated when sent; the person sees the result now, and what has no such form is
    // refused now rather than failing at sending time.
    if style == StyleNoms::S2low && crate::latin1::first_outside(objet).is_some() {
        let sent = crate::latin1::transliterate(objet);
        match crate::latin1::first_outside(&sent) {
            None => warnings.push(warn(
                "actes.objet_translittere",
                &field,
                tf("actes.regles.objet_translittere", &[("objet", &sent)]),
            )),
            Some(c) => {
                return Err(block(
                    "actes.objet",
                    &field,
                    tf(
                        "actes.regles.objet_hors_latin1",
                        &[
                            ("caractere", &c.to_string()),
                            ("code", &format!("U+{:04X}", u32::from(c))),
                        ],
                    ),
                ));
            }
        }
    }
    Ok((objet.to_owned(), warnings))
}

/// Characters an XML 1.0 document can carry, C1 controls excluded (in ISO-8859-1 they are bytes
/// 0x80–0x9F, almost always text pasted from windows-1252 gone wrong).
fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (!c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Matière: 2 to 5 levels, present in the classification.
pub fn check_matiere(
    input: Option<&str>,
    classification: Option<&Classification>,
) -> Result<(CodeMatiere, Vec<Finding>), Finding> {
    let field = t("actes.champs.matiere");
    let Some(text) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(block(
            "actes.matiere",
            &field,
            t("actes.regles.matiere_absente"),
        ));
    };
    let Some(code) = CodeMatiere::parse(text) else {
        return Err(block(
            "actes.matiere",
            &field,
            tf("actes.regles.matiere_invalide", &[("valeur", text)]),
        ));
    };
    if code.levels().len() < 2 {
        return Err(block(
            "actes.matiere",
            &field,
            tf(
                "actes.regles.matiere_niveaux",
                &[("code", &code.to_string())],
            ),
        ));
    }
    let mut warnings = Vec::new();
    if let Some(c) = classification {
        let Some(path) = c.path(&code) else {
            // Say how far the code goes, to help find the mistake.
            let mut known = Vec::new();
            for level in code.levels() {
                known.push(*level);
                let Some(prefix) = CodeMatiere::from_levels(known.clone()) else {
                    break;
                };
                if c.path(&prefix).is_none() {
                    known.pop();
                    break;
                }
            }
            let detail = CodeMatiere::from_levels(known)
                .and_then(|p| c.libelle(&p).map(|l| (p, l)))
                .map(|(p, l)| {
                    tf(
                        "actes.regles.matiere_partielle",
                        &[("code", &p.to_string()), ("libelle", &l)],
                    )
                })
                .unwrap_or_default();
            return Err(block(
                "actes.matiere",
                &field,
                tf(
                    "actes.regles.matiere_inconnue",
                    &[
                        ("code", &code.to_string()),
                        ("date", &french_date(c.date)),
                        ("detail", &detail),
                    ],
                ),
            ));
        };
        if path.last().is_some_and(|m| !m.sous_matieres.is_empty()) {
            warnings.push(warn(
                "actes.matiere",
                &field,
                tf(
                    "actes.regles.matiere_non_feuille",
                    &[
                        ("code", &code.to_string()),
                        (
                            "nombre",
                            &path.last().map_or(0, |m| m.sous_matieres.len()).to_string(),
                        ),
                    ],
                ),
            ));
        }
    }
    Ok((code, warnings))
}

/// The classification: present, not outdated.
pub fn check_classification(ctx: &Contexte<'_>) -> Vec<Finding> {
    let field = t("actes.champs.classification");
    let mut out = Vec::new();
    let Some(c) = ctx.classification else {
        out.push(block(
            "actes.classification_absente",
            &field,
            t("actes.regles.classification_absente"),
        ));
        return out;
    };
    if let Some(newer) = ctx.classification_plus_recente
        && newer > c.date
    {
        out.push(block(
            "actes.classification_perimee",
            &field,
            tf(
                "actes.regles.classification_perimee",
                &[
                    ("date", &french_date(c.date)),
                    ("recente", &french_date(newer)),
                ],
            ),
        ));
    }
    if c.date > ctx.aujourdhui {
        out.push(warn(
            "actes.classification",
            &field,
            tf(
                "actes.regles.classification_future",
                &[("date", &french_date(c.date))],
            ),
        ));
    }
    out.extend(c.avertissements.iter().cloned());
    out
}

/// The typology code an act gets when none is given: the nature's `99_…` code of the
/// classification (other than `99_SE`, the signature files), else `99_` and the nature's
/// abbreviation.
pub fn default_typologie(nature: Nature, classification: Option<&Classification>) -> String {
    classification
        .and_then(|c| c.types_pj(nature))
        .and_then(|list| {
            list.iter()
                .find(|t| t.code.starts_with("99_") && t.code != "99_SE")
                .map(|t| t.code.clone())
        })
        .unwrap_or_else(|| format!("99_{}", nature.abbreviation()))
}

/// Typology code: `^[A-Z0-9_]{5}$` and allowed for the nature by the classification.
pub fn check_typologie(
    code: &str,
    nature: Nature,
    classification: Option<&Classification>,
    field: &str,
) -> Result<(), Finding> {
    let well_formed = code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(block(
            "actes.typologie",
            field,
            tf(
                "actes.regles.typologie_format",
                &[("code", code), ("fichier", field)],
            ),
        ));
    }
    let Some(list) = classification.and_then(|c| c.types_pj(nature)) else {
        return Ok(());
    };
    if list.is_empty() || list.iter().any(|t| t.code == code) {
        return Ok(());
    }
    Err(block(
        "actes.typologie",
        field,
        tf(
            "actes.regles.typologie_inconnue",
            &[
                ("code", code),
                ("fichier", field),
                ("nature", &nature.label()),
                ("codes", &codes_list(list)),
            ],
        ),
    ))
}

fn codes_list(list: &[TypePj]) -> String {
    const SHOWN: usize = 12;
    let mut codes: Vec<String> = list
        .iter()
        .take(SHOWN)
        .map(|t| format!("{} ({})", t.code, t.libelle))
        .collect();
    if list.len() > SHOWN {
        codes.push(tf(
            "actes.regles.et_autres",
            &[("nombre", &(list.len() - SHOWN).to_string())],
        ));
    }
    codes.join(", ")
}

/// The XSD's e-mail pattern:
/// `[_a-zA-Z0-9\-]+(\.[_a-zA-Z0-9\-]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*\.[a-zA-Z]{2,6}`.
pub fn email_ok(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let part_ok = |p: &str, underscore: bool| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || (underscore && b == b'_'))
    };
    if !local.split('.').all(|p| part_ok(p, true)) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    !rest.is_empty()
        && rest.iter().all(|p| part_ok(p, false))
        && (2..=6).contains(&tld.len())
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

/// SIREN check digit (Luhn); La Poste's SIREN 356000000 is the known exception.
fn siren_luhn_ok(siren: &str) -> bool {
    if siren == "356000000" {
        return true;
    }
    let sum: u32 = siren
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The collectivité's identity, as the envelope's schema wants it.
pub fn check_collectivite(c: &Collectivite) -> Vec<Finding> {
    let mut out = Vec::new();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let field = t("actes.champs.siren");
    if c.siren.is_empty() {
        out.push(block("actes.siren", &field, t("actes.regles.siren_absent")));
    } else if !digits(&c.siren, 9) {
        out.push(block(
            "actes.siren",
            &field,
            tf("actes.regles.siren_invalide", &[("valeur", &c.siren)]),
        ));
    } else if !siren_luhn_ok(&c.siren) {
        out.push(warn(
            "actes.siren",
            &field,
            tf("actes.regles.siren_cle", &[("valeur", &c.siren)]),
        ));
    }
    let field = t("actes.champs.departement");
    let d = c.departement.as_bytes();
    let dept_ok = d.len() == 3
        && matches!(d[0], b'0' | b'9')
        && d[1].is_ascii_digit()
        && (d[2].is_ascii_digit() || matches!(d[2], b'A' | b'B'));
    if c.departement.is_empty() {
        out.push(block(
            "actes.departement",
            &field,
            t("actes.regles.departement_absent"),
        ));
    } else if !dept_ok {
        out.push(block(
            "actes.departement",
            &field,
            tf(
                "actes.regles.departement_invalide",
                &[("valeur", &c.departement)],
            ),
        ));
    }
    let field = t("actes.champs.arrondissement");
    if !digits(&c.arrondissement, 1) {
        out.push(block(
            "actes.arrondissement",
            &field,
            tf(
                "actes.regles.arrondissement_invalide",
                &[("valeur", &c.arrondissement)],
            ),
        ));
    }
    let field = t("actes.champs.nature_collectivite");
    if !digits(&c.nature, 2) {
        out.push(block(
            "actes.nature_collectivite",
            &field,
            tf(
                "actes.regles.nature_collectivite_invalide",
                &[("valeur", &c.nature)],
            ),
        ));
    }
    let field = t("actes.champs.adresses_retour");
    if c.emails_retour.is_empty() {
        out.push(block(
            "actes.adresses_retour",
            &field,
            t("actes.regles.adresses_retour_absentes"),
        ));
    }
    for email in &c.emails_retour {
        if !email_ok(email) {
            out.push(block(
                "actes.adresses_retour",
                &field,
                tf("actes.regles.email_invalide", &[("valeur", email)]),
            ));
        }
    }
    let field = t("actes.champs.referent");
    if let Some(email) = &c.referent_email
        && !email_ok(email)
    {
        out.push(block(
            "actes.referent",
            &field,
            tf("actes.regles.email_invalide", &[("valeur", email)]),
        ));
    }
    for value in [&c.referent_nom, &c.referent_telephone]
        .into_iter()
        .flatten()
    {
        if value.chars().any(|c| !xml_char_ok(c)) {
            out.push(block(
                "actes.referent",
                &field,
                tf("actes.regles.referent_caractere", &[("valeur", value)]),
            ));
        }
    }
    out
}

/// Which formats the act file may have.
pub fn act_formats(nature: Option<Nature>, matiere: Option<&CodeMatiere>) -> &'static [Format] {
    if xml_act_allowed(nature, matiere) {
        &[Format::Pdf, Format::Xml]
    } else {
        &[Format::Pdf]
    }
}

/// An XML act is a budget document (nature 5) classified 7.1 (« Décisions budgétaires »).
fn xml_act_allowed(nature: Option<Nature>, matiere: Option<&CodeMatiere>) -> bool {
    nature == Some(Nature::Budget) && matiere.is_some_and(|m| m.starts_with(&[7, 1]))
}

/// One file, as the rules see it.
struct Checked {
    piece: Option<Piece>,
    taille: u64,
}

fn check_file(
    p: &PieceSaisie,
    field: &str,
    accepted: &[Format],
    attendu: &str,
    typologie: Option<String>,
    limit: u64,
    out: &mut Vec<Finding>,
) -> Checked {
    // The size is known without reading: counted in the total even if the content is refused.
    let taille = files::regular_file_size(&p.chemin).unwrap_or(0);
    match files::inspect(&p.chemin, limit, accepted, attendu) {
        Ok(info) => Checked {
            piece: typologie.map(|typologie| Piece {
                chemin: p.chemin.clone(),
                typologie,
                format: info.format,
                taille: info.taille,
                sha256: info.sha256,
            }),
            taille: info.taille,
        },
        Err(problem) => {
            out.push(file_finding(&problem, field));
            Checked {
                piece: None,
                taille,
            }
        }
    }
}

fn file_finding(problem: &FileProblem, field: &str) -> Finding {
    block(problem.code(), field, problem.to_string())
}

/// The value, or the finding added to `out`.
fn ok<T>(r: Result<T, Finding>, out: &mut Vec<Finding>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(f) => {
            out.push(f);
            None
        }
    }
}

/// Every rule. The act comes back only when no finding blocks it.
pub fn check(saisie: &Saisie, collectivite: &Collectivite, ctx: &Contexte<'_>) -> Controle {
    let mut out = Vec::new();
    out.extend(check_collectivite(collectivite));
    out.extend(check_classification(ctx));
    let classification = ctx.classification;
    let nature = ok(check_nature(saisie.nature.as_deref()), &mut out);
    if let (Some(n), Some(c)) = (nature, classification)
        && !c.natures.is_empty()
        && c.nature(n).is_none()
    {
        out.push(block(
            "actes.nature",
            &t("actes.champs.nature"),
            tf(
                "actes.regles.nature_hors_classification",
                &[("nature", &n.label()), ("date", &french_date(c.date))],
            ),
        ));
    }
    let matiere = ok(
        check_matiere(saisie.matiere.as_deref(), classification),
        &mut out,
    )
    .map(|(code, warnings)| {
        out.extend(warnings);
        code
    });
    let numero = ok(check_numero(saisie.numero.as_deref()), &mut out);
    if let (Some(numero), Some(registre)) = (&numero, ctx.registre)
        && !collectivite.siren.is_empty()
    {
        ok(
            check_numero_unique(registre, &collectivite.siren, numero),
            &mut out,
        );
    }
    let date = ok(check_date(saisie.date.as_deref(), ctx.aujourdhui), &mut out);
    let objet =
        ok(check_objet(saisie.objet.as_deref(), ctx.style), &mut out).map(|(objet, warnings)| {
            out.extend(warnings);
            objet
        });

    // Files: typology, then content. The format rule depends on nature and matière.
    let limit = ctx.limite_octets;
    let mut total: u64 = 0;
    let mut document = None;
    let mut act_is_xml = false;
    let act_field = t("actes.champs.acte");
    match &saisie.acte {
        None => out.push(block(
            "actes.document",
            &act_field,
            t("actes.regles.acte_absent"),
        )),
        Some(p) => {
            let field = tf(
                "actes.champs.acte_nomme",
                &[("fichier", &display_name(&p.chemin))],
            );
            let typologie = match (&p.typologie, nature) {
                (Some(code), Some(n)) => {
                    ok(check_typologie(code, n, classification, &field), &mut out)
                        .map(|()| code.clone())
                }
                (None, Some(n)) => {
                    let code = default_typologie(n, classification);
                    ok(check_typologie(&code, n, classification, &field), &mut out).map(|()| code)
                }
                (_, None) => None,
            };
            let xml_ok = xml_act_allowed(nature, matiere.as_ref());
            let attendu = if xml_ok {
                t("actes.regles.attendu_acte_xml")
            } else {
                t("actes.regles.attendu_acte")
            };
            let checked = check_file(
                p,
                &field,
                act_formats(nature, matiere.as_ref()),
                &attendu,
                typologie,
                limit,
                &mut out,
            );
            total = total.saturating_add(checked.taille);
            act_is_xml = checked
                .piece
                .as_ref()
                .is_some_and(|p| p.format == Format::Xml);
            document = checked.piece;
        }
    }
    let (annex_formats, annex_attendu): (&[Format], String) = if act_is_xml {
        (&[Format::Pdf], t("actes.regles.attendu_annexe_budget"))
    } else {
        (
            &[Format::Pdf, Format::Jpeg, Format::Png],
            t("actes.regles.attendu_annexe"),
        )
    };
    let mut annexes = Vec::new();
    let mut all_annexes = true;
    for (i, p) in saisie.annexes.iter().enumerate() {
        let field = tf(
            "actes.champs.annexe",
            &[
                ("numero", &(i + 1).to_string()),
                ("fichier", &display_name(&p.chemin)),
            ],
        );
        let typologie = match (&p.typologie, nature) {
            (None, _) => {
                out.push(block(
                    "actes.typologie",
                    &field,
                    tf(
                        "actes.regles.typologie_absente",
                        &[
                            ("fichier", &field),
                            ("chemin", &p.chemin.display().to_string()),
                            (
                                "exemple",
                                &nature
                                    .map(|n| default_typologie(n, classification))
                                    .unwrap_or_else(|| "99_AU".to_owned()),
                            ),
                        ],
                    ),
                ));
                None
            }
            (Some(code), Some(n)) => ok(check_typologie(code, n, classification, &field), &mut out)
                .map(|()| code.clone()),
            (Some(_), None) => None,
        };
        let checked = check_file(
            p,
            &field,
            annex_formats,
            &annex_attendu,
            typologie,
            limit,
            &mut out,
        );
        total = total.saturating_add(checked.taille);
        match checked.piece {
            Some(piece) => annexes.push(piece),
            None => all_annexes = false,
        }
    }
    if total > limit {
        out.push(block(
            "actes.taille_totale",
            &t("actes.champs.fichiers"),
            tf(
                "actes.regles.taille_totale",
                &[
                    ("taille", &human_size(total)),
                    ("limite", &human_size(limit)),
                ],
            ),
        ));
    }
    // The same content attached twice is surely a mistake, but not one the préfecture refuses.
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for p in document.iter().chain(annexes.iter()) {
        if seen.contains(&p.sha256) {
            out.push(warn(
                "actes.fichier_double",
                &t("actes.champs.fichiers"),
                tf(
                    "actes.regles.fichier_double",
                    &[("fichier", &display_name(&p.chemin))],
                ),
            ));
        }
        seen.push(p.sha256);
    }

    let blocking = out.iter().any(Finding::is_blocking);
    let acte = match (
        nature,
        matiere,
        numero,
        date,
        objet,
        document,
        classification,
    ) {
        (
            Some(nature),
            Some(matiere),
            Some(numero),
            Some(date),
            Some(objet),
            Some(document),
            Some(c),
        ) if !blocking && all_annexes => Some(Acte {
            nature,
            matiere,
            numero,
            date_decision: date,
            objet,
            classification_date: c.date,
            document,
            annexes,
            document_papier: false,
        }),
        _ => None,
    };
    Controle {
        constats: out,
        acte,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_schema() {
        assert!(email_ok("mairie@ville-exemple.fr"));
        assert!(email_ok("a.b_c@x.y.gouv.fr"));
        assert!(!email_ok("a+b@x.fr"));
        assert!(!email_ok("a@fr"));
        assert!(!email_ok("a@x.f"));
        assert!(!email_ok("@x.fr"));
    }

    #[test]
    fn numero_suggestions_pass_the_rule() {
        for typed in ["del-1", "délib 2024/3", "a_b", "ça"] {
            let s = suggest_numero(typed);
            assert!(check_numero(Some(&s)).is_ok(), "{typed} → {s}");
        }
        assert_eq!(suggest_numero("del-1"), "DEL_1");
        assert_eq!(suggest_numero("délib 2024/3"), "DELIB_2024_3");
    }

    #[test]
    fn siren_key() {
        assert!(siren_luhn_ok("210600730"));
        assert!(siren_luhn_ok("000000000"));
        assert!(!siren_luhn_ok("210600731"));
    }
}
