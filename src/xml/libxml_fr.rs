//! libxml2's schema and parser messages, said in French.
//!
//! libxml2 has no French catalogue: its messages are English sentences built from a few dozen
//! templates (xmlschemas.c, parser.c). Each known template is matched here, its values kept (the
//! element, the value, the limit) and said again with the French sentence of `assets/fr.toml`;
//! namespaces (`{urn:…}Nom`) are dropped from names, as a person reads `Nom`. A message no
//! template matches is kept as libxml2 wrote it, marked as such, so nothing is lost.

use crate::messages::tf;

/// A template: literal text and `{}` holes, each hole captured (the shortest text up to the next
/// literal; the last hole takes the rest).
fn capture<'a>(template: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let mut parts = template.split("{}");
    let first = parts.next().unwrap_or_default();
    let mut rest = text.strip_prefix(first)?;
    let literals: Vec<&str> = parts.collect();
    let mut captured = Vec::with_capacity(literals.len());
    for (i, literal) in literals.iter().enumerate() {
        let last = i + 1 == literals.len();
        let end = if literal.is_empty() {
            if last { rest.len() } else { return None }
        } else if last {
            // The last literal ends the message.
            let end = rest.len().checked_sub(literal.len())?;
            if !rest.ends_with(literal) {
                return None;
            }
            end
        } else {
            rest.find(literal)?
        };
        captured.push(&rest[..end]);
        rest = &rest[end + literal.len()..];
    }
    rest.is_empty().then_some(captured)
}

/// `{urn:x}Nom` → `Nom`; a list `{urn:x}A, {urn:x}B` → `A, B`.
fn local_names(text: &str) -> String {
    text.split(", ")
        .map(|name| match name.rfind('}') {
            Some(i) if name.starts_with('{') => &name[i + 1..],
            _ => name,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An XSD built-in type, as a person would name it.
fn type_name(name: &str) -> String {
    let local = local_names(name);
    let key = match local.trim_start_matches("xs:").trim_start_matches("xsd:") {
        "int" | "integer" | "long" | "short" | "byte" => "libxml_fr.type_entier",
        "nonNegativeInteger" | "positiveInteger" | "unsignedInt" | "unsignedLong"
        | "unsignedShort" | "unsignedByte" => "libxml_fr.type_entier_positif",
        "decimal" | "double" | "float" => "libxml_fr.type_decimal",
        "date" => "libxml_fr.type_date",
        "dateTime" => "libxml_fr.type_date_heure",
        "boolean" => "libxml_fr.type_booleen",
        "base64Binary" => "libxml_fr.type_base64",
        "ID" | "NCName" => "libxml_fr.type_identifiant",
        _ => return tf("libxml_fr.type_nomme", &[("type", &local)]),
    };
    crate::messages::t(key)
}

/// What a message of the validator is about: « l'élément « X » » or « l'attribut « a » de « X » »,
/// and the rest of the message.
fn subject(message: &str) -> Option<(String, &str)> {
    let rest = message.strip_prefix("Element '")?;
    let end = rest.find('\'')?;
    let element = local_names(&rest[..end]);
    let rest = &rest[end + 1..];
    if let Some(attr) = rest.strip_prefix(", attribute '") {
        let end = attr.find('\'')?;
        let name = local_names(&attr[..end]);
        let rest = attr[end + 1..].strip_prefix(": ")?;
        return Some((
            tf(
                "libxml_fr.sujet_attribut",
                &[("attribut", &name), ("element", &element)],
            ),
            rest,
        ));
    }
    Some((
        tf("libxml_fr.sujet_element", &[("element", &element)]),
        rest.strip_prefix(": ")?,
    ))
}

/// Validity templates (after the subject): English template, French key, names of the holes.
/// A hole named `noms` holds element names (namespaces dropped), `type` an XSD type.
const VALIDITY: &[(&str, &str, &[&str])] = &[
    (
        "This element is not expected. Expected is one of ( {} ).",
        "libxml_fr.inattendu_parmi",
        &["noms"],
    ),
    (
        "This element is not expected. Expected is ( {} ).",
        "libxml_fr.inattendu_attendu",
        &["noms"],
    ),
    ("This element is not expected.", "libxml_fr.inattendu", &[]),
    (
        "Missing child element(s). Expected is one of ( {} ).",
        "libxml_fr.manque_parmi",
        &["noms"],
    ),
    (
        "Missing child element(s). Expected is ( {} ).",
        "libxml_fr.manque_attendu",
        &["noms"],
    ),
    ("Missing child element(s).", "libxml_fr.manque", &[]),
    (
        "The attribute '{}' is required but missing.",
        "libxml_fr.attribut_manquant",
        &["noms"],
    ),
    (
        "The attribute '{}' is not allowed.",
        "libxml_fr.attribut_interdit",
        &["noms"],
    ),
    (
        "'{}' is not a valid value of the atomic type '{}'.",
        "libxml_fr.type_invalide",
        &["valeur", "type"],
    ),
    (
        "'{}' is not a valid value of the local atomic type.",
        "libxml_fr.valeur_invalide",
        &["valeur"],
    ),
    (
        "'{}' is not a valid value of the union type '{}'.",
        "libxml_fr.valeur_invalide",
        &["valeur", "type"],
    ),
    (
        "'{}' is not a valid value of the local union type.",
        "libxml_fr.valeur_invalide",
        &["valeur"],
    ),
    (
        "'{}' is not a valid value of the list type '{}'.",
        "libxml_fr.valeur_invalide",
        &["valeur", "type"],
    ),
    (
        "[facet 'maxLength'] The value has a length of '{}'; this exceeds the allowed maximum length of '{}'.",
        "libxml_fr.trop_long",
        &["longueur", "limite"],
    ),
    (
        "[facet 'maxLength'] The value '{}' has a length of '{}'; this exceeds the allowed maximum length of '{}'.",
        "libxml_fr.trop_long",
        &["valeur", "longueur", "limite"],
    ),
    (
        "[facet 'minLength'] The value has a length of '{}'; this underruns the allowed minimum length of '{}'.",
        "libxml_fr.trop_court",
        &["longueur", "limite"],
    ),
    (
        "[facet 'minLength'] The value '{}' has a length of '{}'; this underruns the allowed minimum length of '{}'.",
        "libxml_fr.trop_court",
        &["valeur", "longueur", "limite"],
    ),
    (
        "[facet 'length'] The value has a length of '{}'; this differs from the allowed length of '{}'.",
        "libxml_fr.longueur",
        &["longueur", "limite"],
    ),
    (
        "[facet 'length'] The value '{}' has a length of '{}'; this differs from the allowed length of '{}'.",
        "libxml_fr.longueur",
        &["valeur", "longueur", "limite"],
    ),
    (
        "[facet 'enumeration'] The value '{}' is not an element of the set {{}}.",
        "libxml_fr.enumeration",
        &["valeur", "liste"],
    ),
    (
        "[facet 'pattern'] The value '{}' is not accepted by the pattern '{}'.",
        "libxml_fr.motif",
        &["valeur", "motif"],
    ),
    (
        "[facet 'totalDigits'] The value '{}' has more digits than are allowed ('{}').",
        "libxml_fr.chiffres",
        &["valeur", "limite"],
    ),
    (
        "[facet 'fractionDigits'] The value '{}' has more fractional digits than are allowed ('{}').",
        "libxml_fr.decimales",
        &["valeur", "limite"],
    ),
    (
        "[facet 'maxInclusive'] The value '{}' is greater than the maximum value allowed ('{}').",
        "libxml_fr.trop_grand",
        &["valeur", "limite"],
    ),
    (
        "[facet 'minInclusive'] The value '{}' is less than the minimum value allowed ('{}').",
        "libxml_fr.trop_petit",
        &["valeur", "limite"],
    ),
    (
        "[facet 'maxExclusive'] The value '{}' must be less than '{}'.",
        "libxml_fr.inferieur_a",
        &["valeur", "limite"],
    ),
    (
        "[facet 'minExclusive'] The value '{}' must be greater than '{}'.",
        "libxml_fr.superieur_a",
        &["valeur", "limite"],
    ),
    (
        "Character content other than whitespace is not allowed because the content type is 'element-only'.",
        "libxml_fr.texte_interdit",
        &[],
    ),
    (
        "Character content is not allowed, because the content type is empty.",
        "libxml_fr.vide_attendu",
        &[],
    ),
    (
        "Element content is not allowed, because the content type is empty.",
        "libxml_fr.vide_attendu",
        &[],
    ),
    (
        "Element content is not allowed, because the content type is a simple type.",
        "libxml_fr.texte_attendu",
        &[],
    ),
    (
        "No matching global declaration available for the validation root.",
        "libxml_fr.racine_inconnue",
        &[],
    ),
    (
        "Duplicate key-sequence [{}] in unique identity-constraint '{}'.",
        "libxml_fr.doublon",
        &["valeur", "contrainte"],
    ),
    (
        "Duplicate key-sequence [{}] in key identity-constraint '{}'.",
        "libxml_fr.doublon",
        &["valeur", "contrainte"],
    ),
    (
        "No match found for key-sequence [{}] of keyref '{}'.",
        "libxml_fr.reference_introuvable",
        &["valeur", "contrainte"],
    ),
];

/// Parser (well-formedness) templates: English template, French key, names of the holes.
const PARSER: &[(&str, &str, &[&str])] = &[
    (
        "Extra content at the end of the document",
        "libxml_fr.contenu_apres_racine",
        &[],
    ),
    (
        "Opening and ending tag mismatch: {} line {} and {}",
        "libxml_fr.balises_croisees",
        &["ouverte", "ligne", "fermee"],
    ),
    (
        "Premature end of data in tag {} line {}",
        "libxml_fr.fin_prematuree",
        &["element", "ligne"],
    ),
    ("Document is empty", "libxml_fr.document_vide", &[]),
    (
        "Start tag expected, '<' not found",
        "libxml_fr.pas_de_balise",
        &[],
    ),
    (
        "Couldn't find end of Start Tag {} line {}",
        "libxml_fr.balise_non_terminee",
        &["element", "ligne"],
    ),
    (
        "Char 0x{} out of allowed range",
        "libxml_fr.caractere_interdit",
        &["code"],
    ),
    (
        "PCDATA invalid Char value {}",
        "libxml_fr.caractere_interdit",
        &["code"],
    ),
    (
        "xmlParseCharRef: invalid xmlChar value {}",
        "libxml_fr.caractere_interdit",
        &["code"],
    ),
    ("Entity '{}' not defined", "libxml_fr.entite", &["nom"]),
    (
        "Namespace prefix {} on {} is not defined",
        "libxml_fr.prefixe",
        &["prefixe", "element"],
    ),
    (
        "Namespace prefix {} for {} on {} is not defined",
        "libxml_fr.prefixe_attribut",
        &["prefixe", "attribut", "element"],
    ),
    (
        "Unescaped '<' not allowed in attributes values",
        "libxml_fr.chevron_attribut",
        &[],
    ),
    ("Comment not terminated", "libxml_fr.commentaire", &[]),
    (
        "Attribute {} redefined",
        "libxml_fr.attribut_double",
        &["attribut"],
    ),
    (
        "StartTag: invalid element name",
        "libxml_fr.nom_invalide",
        &[],
    ),
    ("EndTag: '</' not found", "libxml_fr.fin_balise", &[]),
    (
        "Sequence ']]>' not allowed in content",
        "libxml_fr.cdata_fin",
        &[],
    ),
];

fn said(table: &[(&str, &str, &[&str])], text: &str, subject: Option<&str>) -> Option<String> {
    table.iter().find_map(|(template, key, names)| {
        let values = capture(template, text)?;
        let mut args: Vec<(&str, String)> = names
            .iter()
            .zip(&values)
            .map(|(name, value)| {
                let value = match *name {
                    "noms" => local_names(value),
                    "type" => type_name(value),
                    "ouverte" | "fermee" | "element" | "attribut" => local_names(value),
                    _ => (*value).to_owned(),
                };
                (*name, value)
            })
            .collect();
        if let Some(s) = subject {
            args.push(("sujet", s.to_owned()));
        }
        let refs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Some(tf(key, &refs))
    })
}

/// One message of libxml2 (validator or parser), in French.
pub fn french(message: &str) -> String {
    let message = message.trim();
    if let Some((subject, rest)) = subject(message)
        && let Some(text) = said(VALIDITY, rest, Some(&subject))
    {
        return text;
    }
    if let Some(text) = said(PARSER, message, None) {
        return text;
    }
    // "Input is not proper UTF-8, indicate encoding !\nBytes: 0xE9 0x20 …"
    if message.starts_with("Input is not proper UTF-8") {
        return crate::messages::t("libxml_fr.encodage");
    }
    tf("libxml_fr.non_traduit", &[("message", message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_take_the_shortest_text_up_to_the_next_literal() {
        assert_eq!(
            capture("a '{}' b '{}'.", "a 'x' b 'y z'."),
            Some(vec!["x", "y z"])
        );
        assert_eq!(capture("a '{}' b", "a 'x' c"), None);
        assert_eq!(
            capture("line {} and {}", "line 3 and B"),
            Some(vec!["3", "B"])
        );
        assert_eq!(local_names("{urn:t}B, {urn:t}C"), "B, C");
    }
}
