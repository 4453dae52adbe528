//! `paraphe cartes [--module CHEMIN] [--json]`

use super::CartesArgs;
use crate::card::inventory::{ModuleReport, scan};
use crate::certs::{Role, ValidityState, date_fr, iso8601};
use crate::messages::{t, tf};
use serde_json::{Value, json};

pub fn run(args: &CartesArgs) -> i32 {
    let settings = match crate::settings::Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", t("commun.erreur"));
            return 2;
        }
    };
    let reports = scan(args.module.clone(), settings.carte.module.clone());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&reports)).unwrap_or_default()
        );
    } else {
        print_text(&reports);
    }
    // Exit 1 when nothing usable was found, so scripts can tell.
    let any_token = reports.iter().any(|r| !r.tokens.is_empty());
    if args.module.is_some() && reports.iter().any(|r| r.error.is_some()) {
        2
    } else if any_token {
        0
    } else {
        1
    }
}

/// The JSON document integrators script against (keys are part of the product).
pub fn to_json(reports: &[ModuleReport]) -> Value {
    let modules: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "chemin": r.candidate.path,
                "origine": r.candidate.origin,
                "description": r.description,
                "erreur": r.error,
            })
        })
        .collect();
    let mut jetons = Vec::new();
    for r in reports {
        for tr in &r.tokens {
            let tok = &tr.token;
            let certificats: Vec<Value> = tr
                .certificates
                .iter()
                .map(|c| {
                    let info = &c.info;
                    let (etat, jours) = match info.validity_now() {
                        ValidityState::Valide => ("valide", None),
                        ValidityState::ExpireBientot { jours } => ("expire_bientot", Some(jours)),
                        ValidityState::Expire => ("expire", None),
                        ValidityState::PasEncoreValide => ("pas_encore_valide", None),
                    };
                    json!({
                        "sujet": info.subject,
                        "nom": info.common_name,
                        "emetteur": info.issuer,
                        "numero_serie": info.serial,
                        "debut_validite": iso8601(info.not_before),
                        "fin_validite": iso8601(info.not_after),
                        "etat": etat,
                        "jours_restants": jours,
                        "cka_id": hex::encode(&c.cka_id),
                        "label": c.label,
                        "cle": info.key_type,
                        "usages": info.key_usage,
                        "usages_etendus": info.extended_key_usage,
                        "qualifie": info.is_qualified(),
                        "qc_statements": info.qc_statements,
                        "roles": info.roles.iter().map(Role::key).collect::<Vec<_>>(),
                    })
                })
                .collect();
            jetons.push(json!({
                "module": r.candidate.path,
                "emplacement": tok.slot_id,
                "label": tok.label,
                "fabricant": tok.manufacturer,
                "modele": tok.model,
                "numero_serie": tok.serial,
                "pin_compteur_bas": tok.pin.count_low,
                "pin_dernier_essai": tok.pin.final_try,
                "pin_bloque": tok.pin.locked,
                "clavier_securise": tok.pin.pin_pad,
                "erreur": tr.error,
                "certificats": certificats,
            }));
        }
    }
    json!({ "modules": modules, "jetons": jetons })
}

fn print_text(reports: &[ModuleReport]) {
    if reports.is_empty() {
        println!("{}", t("carte.aucun_module"));
        return;
    }
    println!("{}", t("cartes.titre_modules"));
    for r in reports {
        print!(
            "  {} — {}",
            r.candidate.path.display(),
            r.candidate.origin.label()
        );
        if let Some(d) = &r.description {
            print!(" — {d}");
        }
        println!();
        if let Some(e) = &r.error {
            println!("    {}", tf("cartes.module_non_charge", &[("detail", e)]));
        }
    }
    println!();
    println!("{}", t("cartes.titre_jetons"));
    let mut any = false;
    for r in reports {
        for tr in &r.tokens {
            any = true;
            let tok = &tr.token;
            let pin = if tok.pin.locked {
                t("cartes.etat_pin_bloque")
            } else if tok.pin.final_try {
                t("cartes.etat_pin_dernier")
            } else if tok.pin.count_low {
                t("cartes.etat_pin_bas")
            } else {
                t("cartes.etat_pin_ok")
            };
            print!(
                "  « {} » ({} {}) — {pin}",
                tok.label, tok.manufacturer, tok.model
            );
            if tok.pin.pin_pad {
                print!(" — {}", t("cartes.clavier_securise"));
            }
            println!();
            if let Some(e) = &tr.error {
                println!("    {e}");
            }
            if tr.certificates.is_empty() {
                println!("    {}", t("cartes.aucun_certificat"));
            }
            for c in &tr.certificates {
                let info = &c.info;
                let roles: Vec<String> = info.roles.iter().map(Role::label).collect();
                println!("    • {} [{}]", info.display_name(), hex::encode(&c.cka_id));
                println!("      {} {}", t("cartes.emetteur"), info.issuer);
                let date = date_fr(info.not_after);
                let validity = match info.validity_now() {
                    ValidityState::Expire => tf("cartes.expire_le", &[("date", &date)]),
                    ValidityState::PasEncoreValide => tf(
                        "cartes.pas_encore_valide",
                        &[("date", &date_fr(info.not_before))],
                    ),
                    ValidityState::Valide => tf("cartes.valide_jusqu_au", &[("date", &date)]),
                    ValidityState::ExpireBientot { jours } => tf(
                        "carte.expire_bientot",
                        &[
                            ("sujet", info.display_name()),
                            ("jours", &jours.to_string()),
                            ("date", &date),
                        ],
                    ),
                };
                println!("      {validity} — {}", info.key_type);
                println!("      {} : {}", t("cartes.roles"), roles.join(", "));
                if info.is_qualified() {
                    println!("      {}", t("cartes.qualifie"));
                }
            }
        }
    }
    if !any {
        println!("  {}", t("carte.aucun_jeton"));
    }
}
