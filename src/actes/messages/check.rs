//! The check of a message against the structure of `actesv1_1.xsd` ([`schema`](super::schema)),
//! and the schema's simple types (dates, `IDActe`, département, e-mail…). A message the schema
//! would reject is still read: what departs from it becomes a warning in French, with its line.
//! It is not a general XSD validator. The simple types are also used by `actes::answers` to
//! check an answer before it is written.

use super::model::{ACTES_NS, INSEE_NS};
use super::schema::{Content, Def, Ns, St};
use super::tree::{Node, is_xml_space};
use crate::messages::{t, tf};

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Checks `node` against `def`, adding what departs from it to `out` (at most one content
/// problem per element, as libxml2 reports).
pub(super) fn check(node: &Node, def: &Def, out: &mut Vec<String>) {
    let warn = |out: &mut Vec<String>, line: u64, text: String| {
        out.push(tf(
            "actes_messages.ecart_ligne",
            &[("ligne", &line.to_string()), ("detail", &text)],
        ));
    };
    let mut nil = false;
    for a in &node.attrs {
        if a.ns.as_deref() == Some(XSI_NS) {
            if a.name == "nil" {
                let v = a.value.trim_matches(is_xml_space);
                nil = v == "true" || v == "1";
                if nil && !def.nillable {
                    warn(
                        out,
                        node.line,
                        tf("actes_messages.ecart_nil", &[("element", &node.name)]),
                    );
                }
            }
            continue;
        }
        let known = def.attrs.iter().find(|d| {
            d.name == a.name
                && a.ns.as_deref()
                    == Some(match d.ns {
                        Ns::Actes => ACTES_NS,
                        Ns::Insee => INSEE_NS,
                    })
        });
        match known {
            Some(d) => {
                if let Some(expected) = invalid_value(&a.value, d.ty) {
                    warn(
                        out,
                        node.line,
                        tf(
                            "actes_messages.ecart_valeur_attribut",
                            &[
                                ("valeur", &excerpt(&a.value)),
                                ("nom", &a.name),
                                ("element", &node.name),
                                ("attendu", &expected),
                            ],
                        ),
                    );
                }
            }
            None => warn(
                out,
                node.line,
                tf(
                    "actes_messages.ecart_attribut_inattendu",
                    &[("nom", &a.name), ("element", &node.name)],
                ),
            ),
        }
    }
    for d in def.attrs.iter().filter(|d| d.required) {
        let ns = match d.ns {
            Ns::Actes => ACTES_NS,
            Ns::Insee => INSEE_NS,
        };
        if !node
            .attrs
            .iter()
            .any(|a| a.name == d.name && a.ns.as_deref() == Some(ns))
        {
            warn(
                out,
                node.line,
                tf(
                    "actes_messages.ecart_attribut_manquant",
                    &[("nom", d.name), ("element", &node.name)],
                ),
            );
        }
    }
    let has_text = node.text.chars().any(|c| !is_xml_space(c));
    if nil && def.nillable {
        if has_text || !node.children.is_empty() {
            warn(
                out,
                node.line,
                tf("actes_messages.ecart_nil", &[("element", &node.name)]),
            );
        }
        return;
    }
    match &def.content {
        Content::Any => {}
        Content::Empty => {
            if let Some(c) = node.children.first() {
                warn(
                    out,
                    c.line,
                    tf(
                        "actes_messages.ecart_element_inattendu",
                        &[("nom", &c.name), ("parent", &node.name)],
                    ),
                );
            } else if has_text {
                warn(
                    out,
                    node.line,
                    tf("actes_messages.ecart_texte", &[("element", &node.name)]),
                );
            }
        }
        Content::Simple(ty) => {
            if let Some(c) = node.children.first() {
                warn(
                    out,
                    c.line,
                    tf(
                        "actes_messages.ecart_element_inattendu",
                        &[("nom", &c.name), ("parent", &node.name)],
                    ),
                );
            } else if let Some(expected) = invalid_value(&node.text, *ty) {
                warn(
                    out,
                    node.line,
                    tf(
                        "actes_messages.ecart_valeur_element",
                        &[
                            ("valeur", &excerpt(&node.text)),
                            ("element", &node.name),
                            ("attendu", &expected),
                        ],
                    ),
                );
            }
        }
        Content::Seq(particles) => {
            if has_text {
                warn(
                    out,
                    node.line,
                    tf("actes_messages.ecart_texte", &[("element", &node.name)]),
                );
            }
            let mut i = 0;
            for p in particles.iter() {
                let mut count = 0u32;
                while count < p.max {
                    let Some(child) = node.children.get(i) else {
                        break;
                    };
                    let matched = child
                        .is_actes()
                        .then(|| p.names.iter().find(|(n, _)| *n == child.name))
                        .flatten();
                    let Some((_, child_def)) = matched else {
                        break;
                    };
                    check(child, child_def, out);
                    i += 1;
                    count += 1;
                }
                if count < p.min {
                    let expected = p
                        .names
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(" | ");
                    let text = match node.children.get(i) {
                        Some(found) => tf(
                            "actes_messages.ecart_element_a_la_place",
                            &[
                                ("nom", &expected),
                                ("parent", &node.name),
                                ("trouve", &found.name),
                            ],
                        ),
                        None => tf(
                            "actes_messages.ecart_element_manquant",
                            &[("nom", &expected), ("parent", &node.name)],
                        ),
                    };
                    let line = node.children.get(i).map_or(node.line, |c| c.line);
                    warn(out, line, text);
                    return;
                }
            }
            if let Some(extra) = node.children.get(i) {
                warn(
                    out,
                    extra.line,
                    tf(
                        "actes_messages.ecart_element_inattendu",
                        &[("nom", &extra.name), ("parent", &node.name)],
                    ),
                );
            }
        }
    }
}

fn excerpt(value: &str) -> String {
    let mut s: String = value.chars().take(60).collect();
    if value.chars().count() > 60 {
        s.push('…');
    }
    s
}

/// `None` when `value` is valid for `ty`, else what was expected (in French).
fn invalid_value(value: &str, ty: St) -> Option<String> {
    let collapsed = value.trim_matches(is_xml_space);
    let ok = match ty {
        St::Str => true,
        St::MaxLen(n) => value.chars().count() <= n,
        St::Len(n) => value.chars().count() == n,
        St::Date => is_xsd_date(collapsed),
        St::Integer => is_integer(collapsed),
        St::NonNegInteger => is_non_negative_integer(collapsed),
        St::IdActe => is_id_acte(value),
        St::Departement => is_departement(value),
        St::Arrondissement => collapsed.len() == 1 && all_digits(collapsed),
        St::NatureCollectivite => collapsed.len() == 2 && all_digits(collapsed),
        St::Siren => collapsed.len() == 9 && all_digits(collapsed),
        St::Email => is_email(value),
        St::NatureAnomalieActe => collapsed.len() == 3 && all_digits(collapsed),
        St::NatureAnomalieEnveloppe => {
            is_integer(collapsed)
                && integer_value(collapsed).is_some_and(|v| matches!(v, 1..=5 | 100))
        }
    };
    if ok {
        return None;
    }
    Some(match ty {
        St::Str => String::new(),
        St::MaxLen(n) => tf(
            "actes_messages.attendu_longueur_max",
            &[("n", &n.to_string())],
        ),
        St::Len(n) => tf("actes_messages.attendu_longueur", &[("n", &n.to_string())]),
        St::Date => t("actes_messages.attendu_date"),
        St::Integer => t("actes_messages.attendu_entier"),
        St::NonNegInteger => t("actes_messages.attendu_entier_positif"),
        St::IdActe => t("actes_messages.attendu_id_acte"),
        St::Departement => t("actes_messages.attendu_departement"),
        St::Arrondissement => t("actes_messages.attendu_arrondissement"),
        St::NatureCollectivite => t("actes_messages.attendu_nature_collectivite"),
        St::Siren => t("actes_messages.attendu_siren"),
        St::Email => email_defect(value).unwrap_or_else(|| t("actes_messages.attendu_email")),
        St::NatureAnomalieActe => t("actes_messages.attendu_trois_chiffres"),
        St::NatureAnomalieEnveloppe => t("actes_messages.attendu_nature_anomalie_enveloppe"),
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_integer(s: &str) -> bool {
    all_digits(s.strip_prefix(['+', '-']).unwrap_or(s))
}

fn is_non_negative_integer(s: &str) -> bool {
    match s.strip_prefix('-') {
        Some(rest) => all_digits(rest) && rest.bytes().all(|b| b == b'0'),
        None => all_digits(s.strip_prefix('+').unwrap_or(s)),
    }
}

fn integer_value(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits = digits.trim_start_matches('0');
    if digits.len() > 15 {
        return None;
    }
    let v: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -v } else { v })
}

/// `xsd:date`: `[-]YYYY-MM-DD` with an optional time zone (`Z`, `+hh:mm`, `-hh:mm`).
pub(crate) fn is_xsd_date(s: &str) -> bool {
    let (body, tz) = if let Some(b) = s.strip_suffix('Z') {
        (b, None)
    } else if s.len() > 6 && s.is_char_boundary(s.len() - 6) {
        let (b, z) = s.split_at(s.len() - 6);
        if z.starts_with(['+', '-']) && z.as_bytes()[3] == b':' {
            (b, Some(&z[1..]))
        } else {
            (s, None)
        }
    } else {
        (s, None)
    };
    if let Some(tz) = tz {
        let (h, m) = (&tz[..2], &tz[3..]);
        if !all_digits(h) || !all_digits(m) {
            return false;
        }
        let (h, m): (u32, u32) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
        if m > 59 || h > 14 || (h == 14 && m > 0) {
            return false;
        }
    }
    let body = body.strip_prefix('-').unwrap_or(body);
    let mut parts = body.split('-');
    let (Some(y), Some(mo), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if y.len() < 4 || (y.len() > 4 && y.starts_with('0')) || !all_digits(y) {
        return false;
    }
    if mo.len() != 2 || d.len() != 2 || !all_digits(mo) || !all_digits(d) {
        return false;
    }
    let year: u64 = match y.parse() {
        Ok(v) => v,
        Err(_) => return false,
    };
    let (month, day): (u32, u32) = (mo.parse().unwrap_or(0), d.parse().unwrap_or(0));
    if year == 0 || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// `actes:IDActe`: `{dept}-{SIREN}-{AAAAMMJJ}-{numéro interne}-{nature}`.
pub(crate) fn is_id_acte(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [dept, siren, date, numero, nature] = parts.as_slice() else {
        return false;
    };
    is_departement(dept)
        && siren.len() == 9
        && all_digits(siren)
        && date.len() == 8
        && all_digits(date)
        && (1..=15).contains(&numero.len())
        && numero
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && nature.chars().count() == 2
        && nature.chars().all(char::is_uppercase)
}

/// `[0|9][0-9][A|B|0-9]` (the `|` is, literally, allowed by the schema's pattern).
fn is_departement(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3
        && matches!(b[0], b'0' | b'9' | b'|')
        && b[1].is_ascii_digit()
        && (matches!(b[2], b'A' | b'B' | b'|') || b[2].is_ascii_digit())
}

/// The schema's e-mail pattern.
fn is_email(s: &str) -> bool {
    email_defect(s).is_none()
}

/// Which part of the schema's e-mail pattern `s` breaks, said in French (`None` when it matches):
/// `[_a-zA-Z0-9\-]+(\.[_a-zA-Z0-9\-]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*\.[a-zA-Z]{2,6}`.
fn email_defect(s: &str) -> Option<String> {
    let Some((local, domain)) = s.split_once('@') else {
        return Some(t("actes_messages.email_sans_arobase"));
    };
    let atom = |p: &str, underscore: bool| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || (underscore && b == b'_'))
    };
    if !local.split('.').all(|p| atom(p, true)) {
        return Some(t("actes_messages.email_partie_locale"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some(t("actes_messages.email_sans_point"));
    }
    if !labels.iter().all(|p| atom(p, false)) {
        return Some(t("actes_messages.email_domaine"));
    }
    let last = labels.last().copied().unwrap_or_default();
    if !((2..=6).contains(&last.len()) && last.bytes().all(|b| b.is_ascii_alphabetic())) {
        return Some(tf("actes_messages.email_fin", &[("fin", &excerpt(last))]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_types() {
        assert!(is_xsd_date("2017-07-21"));
        assert!(is_xsd_date("2016-02-29Z"));
        assert!(is_xsd_date("2017-07-21+02:00"));
        assert!(!is_xsd_date("2017-02-29"));
        assert!(!is_xsd_date("2017-7-21"));
        assert!(!is_xsd_date(""));
        assert!(is_id_acte("034-491011698-20171207-CL20171227_06-DE"));
        assert!(!is_id_acte("034-491011698-20171207-CL-2017-DE"));
        assert!(!is_id_acte("134-491011698-20171207-X-DE"));
        assert!(is_email("robert@petit.poid.fr"));
        assert!(!is_email("robert@localhost"));
        assert!(email_defect("robert@mairie.france1").is_some_and(|m| m.contains("2 à 6 lettres")));
        assert!(email_defect("robert@localhost").is_some_and(|m| m.contains("point")));
        assert!(email_defect("robert.mairie.fr").is_some_and(|m| m.contains("@")));
        assert!(email_defect("rob ert@mairie.fr").is_some_and(|m| m.contains("avant")));
        assert!(email_defect("robert@mai_rie.fr").is_some_and(|m| m.contains("domaine")));
        assert_eq!(
            invalid_value("5", St::NatureAnomalieEnveloppe),
            None,
            "the enumeration is integer-valued"
        );
        assert!(invalid_value("2", St::NatureAnomalieActe).is_some());
        assert!(invalid_value("ERREUR2", St::NatureAnomalieActe).is_some());
    }
}
