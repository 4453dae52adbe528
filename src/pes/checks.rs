//! Business checks of a PES_Aller before signing and sending: declared vs computed counts and
//! totals, PJ references, Ids needed for per-bordereau signatures, InfoDematerialisee, S²LOW's upload
//! rules, and elements already signed (the DGFiP policy forbids co-signature).

use super::summary::{Bordereau, Domaine, PesSummary, pj_index};
use crate::findings::{Finding, Location};
use crate::messages::tf;

/// What the user intends to do next: some checks only matter for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Sign each bordereau.
    SignBordereaux,
    /// Sign the whole file.
    SignFile,
    /// Only check (no signature planned).
    Check,
}

fn at_bordereau(b: &Bordereau) -> Location {
    Location {
        offset: Some(b.offset),
        element: Some(bordereau_label(b)),
        ..Default::default()
    }
}

/// `Bordereau 12 (exercice 2026, Id BORD12)` — how the user finds it.
pub fn bordereau_label(b: &Bordereau) -> String {
    tf(
        "pes.libelle_bordereau",
        &[
            ("numero", b.numero.as_deref().unwrap_or("?")),
            ("exercice", b.exercice.as_deref().unwrap_or("?")),
            ("id", b.id.as_deref().unwrap_or("—")),
        ],
    )
}

pub fn check(summary: &PesSummary, intent: Intent) -> Vec<Finding> {
    let mut findings = summary.reading_findings.clone();
    check_header(summary, &mut findings);
    let pj = pj_index(summary);
    for b in &summary.bordereaux {
        let here = || at_bordereau(b);
        if let Some(declared) = b.nb_pieces
            && declared != b.nb_pieces_calcule
        {
            findings.push(Finding::blocking(
                "pes.nombre_pieces",
                tf(
                    "pes.nombre_pieces",
                    &[
                        ("bordereau", &bordereau_label(b)),
                        ("declare", &declared.to_string()),
                        ("calcule", &b.nb_pieces_calcule.to_string()),
                    ],
                ),
                here(),
            ));
        }
        if let Some(declared) = b.montant_ht
            && declared != b.montant_ht_calcule
        {
            // A warning, not a block: the ordonnateur judges (lines may carry amounts this
            // summary does not model); the comptable's Hélios has the last word.
            findings.push(Finding::warning(
                "pes.total_ht",
                tf(
                    "pes.total_ht",
                    &[
                        ("bordereau", &bordereau_label(b)),
                        ("declare", &declared.french()),
                        ("calcule", &b.montant_ht_calcule.french()),
                    ],
                ),
                here(),
            ));
        }
        if let Some(declared) = b.montant_tva
            && declared != b.montant_tva_calcule
        {
            findings.push(Finding::warning(
                "pes.total_tva",
                tf(
                    "pes.total_tva",
                    &[
                        ("bordereau", &bordereau_label(b)),
                        ("declare", &declared.french()),
                        ("calcule", &b.montant_tva_calcule.french()),
                    ],
                ),
                here(),
            ));
        }
        if intent == Intent::SignBordereaux && b.id.as_deref().is_none_or(str::is_empty) {
            findings.push(Finding::blocking(
                "pes.bordereau_sans_id",
                tf(
                    "pes.bordereau_sans_id",
                    &[("bordereau", &bordereau_label(b))],
                ),
                here(),
            ));
        }
        if b.signe && intent == Intent::SignBordereaux {
            findings.push(Finding::blocking(
                "pes.deja_signe",
                tf(
                    "pes.bordereau_deja_signe",
                    &[("bordereau", &bordereau_label(b))],
                ),
                here(),
            ));
        }
    }
    for r in &summary.references_pj {
        if !pj.contains_key(r.pj.as_str()) {
            let b =
                &summary.bordereaux[r.bordereau.min(summary.bordereaux.len().saturating_sub(1))];
            let piece = r.piece.as_deref().unwrap_or("?");
            let args = [
                ("bordereau", bordereau_label(b)),
                ("piece", piece.to_owned()),
                ("pj", r.pj.clone()),
                ("support", r.support.clone().unwrap_or_default()),
            ];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // The schema's PJReference says how the PJ travels (Support: 01 électronique,
            // 02 papier, 03 cédérom; « 02 ou 03 interdisent d'avoir un bloc PJ »), never that it
            // travels in this very file: an electronic PJ may have been sent in an earlier flow.
            // A missing PJ is therefore a warning, said for what it is.
            let key = match r.support.as_deref().map(str::trim) {
                Some("02" | "03") => "pes.pj_introuvable_hors_ligne",
                Some("01") | None => "pes.pj_introuvable",
                Some(_) => "pes.pj_introuvable_support_inconnu",
            };
            findings.push(Finding::warning(
                "pes.pj_introuvable",
                tf(key, &args),
                at_bordereau(b),
            ));
        }
    }
    // A global signature covers every bordereau: neither a bordereau signature nor another global
    // one may be added under it (co-signature is forbidden, and the first would be broken).
    if intent != Intent::Check && summary.signatures.iter().any(|s| s.parent == "PES_Aller") {
        findings.push(Finding::blocking(
            "pes.deja_signe",
            tf("pes.fichier_deja_signe", &[]),
            Location::default(),
        ));
    }
    if intent == Intent::SignFile && summary.id.as_deref().is_none_or(str::is_empty) {
        findings.push(Finding::blocking(
            "pes.fichier_sans_id",
            tf("pes.fichier_sans_id", &[]),
            Location::default(),
        ));
    }
    if intent != Intent::Check {
        for (domaine, value) in &summary.info_dematerialisee {
            if value.trim() != "1" {
                findings.push(Finding::warning(
                    "pes.info_dematerialisee",
                    tf(
                        "pes.info_dematerialisee",
                        &[("domaine", domaine_label(*domaine)), ("valeur", value)],
                    ),
                    Location::default(),
                ));
            }
        }
    }
    for p in &summary.pj {
        let name = p.nom.as_deref().or(p.id_unique.as_deref()).unwrap_or("?");
        let at = Location {
            offset: Some(p.offset),
            element: Some(format!("PJ {name}")),
            ..Default::default()
        };
        if p.base64_invalide {
            findings.push(Finding::blocking(
                "pes.pj_base64",
                tf("pes.pj_base64", &[("pj", name)]),
                at.clone(),
            ));
        }
        if p.type_mime.as_deref().is_none_or(str::is_empty) {
            findings.push(Finding::blocking(
                "pes.pj_mime",
                tf("pes.pj_mime", &[("pj", name)]),
                at.clone(),
            ));
        }
        let extension_ok = p
            .nom
            .as_deref()
            .and_then(|n| n.rsplit_once('.'))
            .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=4).contains(&ext.len()));
        if p.nom.as_deref().is_none_or(|n| n.trim().is_empty()) {
            findings.push(Finding::blocking(
                "pes.pj_sans_nom",
                tf(
                    "pes.pj_sans_nom",
                    &[("id", p.id_unique.as_deref().unwrap_or("?"))],
                ),
                at,
            ));
        } else if !extension_ok {
            findings.push(Finding::blocking(
                "pes.pj_extension",
                tf("pes.pj_extension", &[("pj", name)]),
                at,
            ));
        }
    }
    findings
}

fn domaine_label(d: Domaine) -> &'static str {
    match d {
        Domaine::Depense => "dépense",
        Domaine::Recette => "recette",
    }
}

/// S²LOW's upload checks on the header.
fn check_header(summary: &PesSummary, findings: &mut Vec<Finding>) {
    if !summary.iso_8859_1_declared_early {
        findings.push(Finding::blocking(
            "s2low.encodage",
            tf("pes.s2low_encodage", &[]),
            Location::default(),
        ));
    }
    if summary
        .enveloppe
        .nom_fic
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        findings.push(Finding::blocking(
            "s2low.nomfic",
            tf("pes.s2low_nomfic", &[]),
            Location::default(),
        ));
    }
    if let Some(cod_col) = &summary.entete.cod_col
        && cod_col.chars().count() > 3
    {
        findings.push(Finding::blocking(
            "s2low.codcol",
            tf("pes.s2low_codcol", &[("valeur", cod_col)]),
            Location::default(),
        ));
    }
    if let Some(id_coll) = &summary.entete.id_coll
        && id_coll.chars().count() > 14
    {
        findings.push(Finding::blocking(
            "s2low.idcoll",
            tf("pes.s2low_idcoll", &[("valeur", id_coll)]),
            Location::default(),
        ));
    }
}

/// Whether the PES is the current collectivité's, by its `IdColl` and the `id_coll` each
/// collectivité set on this workstation declares: a warning naming the collectivité it belongs
/// to, or saying it belongs to none set. Nothing when no collectivité declares its `IdColl`
/// (nothing to compare with) or when the file has none.
pub fn collectivite_finding(
    summary: &PesSummary,
    settings: &crate::settings::Settings,
) -> Option<Finding> {
    let id_coll = summary.entete.id_coll.as_deref()?.trim();
    let declares = |c: &crate::settings::CollectiviteSettings| {
        c.id_coll.iter().any(|own| own.trim() == id_coll)
    };
    let set = settings.collectivites_reglees();
    let declared: Vec<_> = set.iter().filter(|c| !c.id_coll.is_empty()).collect();
    if id_coll.is_empty() || declared.is_empty() || declares(&settings.collectivite) {
        return None;
    }
    let at_file = Location::default();
    Some(match declared.iter().find(|c| declares(c)) {
        Some(other) => Finding::warning(
            "pes.collectivite_autre",
            tf(
                "pes.collectivite_autre",
                &[
                    ("id_coll", id_coll),
                    ("autre", &other.label()),
                    ("courante", &settings.collectivite.label()),
                ],
            ),
            at_file,
        ),
        None => Finding::warning(
            "pes.collectivite_inconnue",
            tf(
                "pes.collectivite_inconnue",
                &[
                    ("id_coll", id_coll),
                    (
                        "liste",
                        &declared
                            .iter()
                            .map(|c| c.label())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ],
            ),
            at_file,
        ),
    })
}
