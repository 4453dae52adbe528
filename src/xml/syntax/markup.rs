//! The other markup of a document: processing instructions, comments and the XML declaration.

use super::chars::{is_name, is_xml_space, skip_space, space_before_attribute, utf8};
use super::text::check_chars;
use super::{SResult, SyntaxError};

/// Splits a processing instruction (content between `<?` and `?>`) into target and data, as
/// libxml2 stores them: white space after the target is dropped, trailing white space kept.
pub(crate) fn parse_pi(content: &[u8]) -> SResult<(&str, &str)> {
    let text = utf8(content)?;
    let bytes = text.as_bytes();
    let target_end = bytes
        .iter()
        .position(|&b| is_xml_space(b))
        .unwrap_or(bytes.len());
    let target = &text[..target_end];
    if !is_name(target) {
        return Err(SyntaxError::new(
            0,
            format!("cible d'instruction de traitement « {target} » invalide"),
        ));
    }
    if target.eq_ignore_ascii_case("xml") {
        return Err(SyntaxError::new(
            0,
            "la déclaration XML n'est permise qu'au tout début du document",
        ));
    }
    let mut data_start = target_end;
    while data_start < bytes.len() && is_xml_space(bytes[data_start]) {
        data_start += 1;
    }
    let data = &text[data_start..];
    check_chars(data).map_err(|e| SyntaxError {
        offset: data_start + e.offset,
        ..e
    })?;
    Ok((target, data))
}

/// Checks a comment's content (between `<!--` and `-->`).
pub(crate) fn check_comment(content: &str) -> SResult<()> {
    check_chars(content)?;
    if let Some(i) = content.find("--") {
        return Err(SyntaxError::new(
            i,
            "la séquence « -- » est interdite dans un commentaire",
        ));
    }
    if content.ends_with('-') {
        return Err(SyntaxError::new(
            content.len() - 1,
            "un commentaire ne peut pas se terminer par « --->»",
        ));
    }
    Ok(())
}

/// Checks the XML declaration (content between `<?` and `?>`, starting with `xml`): `version`
/// first, then optionally `encoding` and `standalone`, in this order.
pub(crate) fn check_declaration(content: &[u8]) -> SResult<()> {
    let text = utf8(content)?;
    let bytes = text.as_bytes();
    let mut i = 3; // after "xml"
    let mut seen: Vec<&str> = Vec::new();
    while space_before_attribute(bytes, &mut i, "espace attendu dans la déclaration XML")? {
        let name_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let name = &text[name_start..i];
        i = skip_space(bytes, i);
        if bytes.get(i) != Some(&b'=') {
            return Err(SyntaxError::new(i, "« = » attendu dans la déclaration XML"));
        }
        i += 1;
        i = skip_space(bytes, i);
        let quote = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => {
                return Err(SyntaxError::new(
                    i,
                    "valeur entre guillemets attendue dans la déclaration XML",
                ));
            }
        };
        let value_start = i + 1;
        let value_end = bytes[value_start..]
            .iter()
            .position(|&b| b == quote)
            .map(|p| value_start + p)
            .ok_or_else(|| SyntaxError::new(i, "valeur non terminée dans la déclaration XML"))?;
        let value = &text[value_start..value_end];
        i = value_end + 1;
        let order = ["version", "encoding", "standalone"];
        let rank = order.iter().position(|&o| o == name);
        let last_rank = seen.last().and_then(|s| order.iter().position(|o| o == s));
        let ok_order = match (rank, last_rank) {
            (Some(0), None) => true,
            (Some(r), Some(l)) => r > l,
            _ => false,
        };
        if !ok_order {
            return Err(SyntaxError::new(
                name_start,
                format!(
                    "pseudo-attribut « {name} » inattendu dans la déclaration XML (ordre attendu : version, encoding, standalone)"
                ),
            ));
        }
        let valid = match name {
            "version" => value
                .strip_prefix("1.")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())),
            "encoding" => {
                let mut cs = value.bytes();
                cs.next().is_some_and(|b| b.is_ascii_alphabetic())
                    && cs.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            _ => value == "yes" || value == "no",
        };
        if !valid {
            return Err(SyntaxError::new(
                value_start,
                format!("valeur « {value} » invalide pour « {name} » dans la déclaration XML"),
            ));
        }
        seen.push(name);
    }
    if seen.is_empty() {
        return Err(SyntaxError::new(
            0,
            "la déclaration XML doit indiquer la version",
        ));
    }
    Ok(())
}
