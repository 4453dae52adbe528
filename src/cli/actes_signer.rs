//! `paraphe actes signer ACTE.pdf -o SIGNE.pdf [--visible PAGE:X1,Y1,X2,Y2] [--raison T]
//! [--lieu T] [card options]`: a PAdES signature of an act's PDF with the signature key, as one
//! more revision of the file (the original bytes are kept as they are), before it is prepared or
//! queued. Exit code 0 when written, 2 when the signature could not be made (nothing written).

use super::error;
use crate::actes::pades::{Appearance, PadesOptions, sign_pdf};
use crate::messages::{t, tf};
use crate::settings::Settings;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(help_template = super::HELP_TEMPLATE, next_help_heading = "Options")]
pub struct ActesSignerArgs {
    /// Le PDF de l'acte à signer.
    #[arg(value_name = "FICHIER.pdf")]
    pub fichier: PathBuf,
    /// Le PDF signé à écrire (peut être le même fichier).
    #[arg(short = 'o', long = "sortie", value_name = "SORTIE.pdf")]
    pub sortie: PathBuf,
    /// Signature visible : page (à partir de 1) et rectangle en points depuis le coin bas gauche,
    /// par exemple 1:350,40,560,110. Sans cette option la signature est invisible.
    #[arg(long, value_name = "PAGE:X1,Y1,X2,Y2")]
    pub visible: Option<String>,
    /// Raison de la signature (par exemple « Certifié exécutoire »).
    #[arg(long, value_name = "TEXTE")]
    pub raison: Option<String>,
    /// Lieu de la signature.
    #[arg(long, value_name = "TEXTE")]
    pub lieu: Option<String>,
    /// Écrit un document JSON au lieu du texte.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cle: super::KeyArgs,
}

/// `PAGE:X1,Y1,X2,Y2` → a visible appearance.
pub fn parse_visible(text: &str) -> Option<Appearance> {
    let (page, rect) = text.split_once(':')?;
    let page: u32 = page.trim().parse().ok().filter(|p| *p >= 1)?;
    let numbers: Vec<f32> = rect
        .split(',')
        .map(|n| n.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()?;
    let [x1, y1, x2, y2] = numbers[..] else {
        return None;
    };
    Some(Appearance::Visible {
        page,
        rect: [x1, y1, x2, y2],
    })
}

pub fn signer(args: &ActesSignerArgs) -> i32 {
    use crate::card::select::open_for_role;
    use crate::certs::Role;
    let appearance = match &args.visible {
        Some(text) => match parse_visible(text) {
            Some(a) => a,
            None => {
                return error(&tf("actes_signature.visible_invalide", &[("valeur", text)]));
            }
        },
        None => Appearance::Invisible,
    };
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return error(&e.to_string()),
    };
    let choice = match args.cle.choice(&settings, Role::Signature) {
        Ok(c) => c,
        Err(e) => return error(&e),
    };
    let mut key = match open_for_role(&choice, Role::Signature, args.cle.prompt()) {
        Ok(k) => k,
        Err(e) => return error(&format!("{e} {}", t("actes.cli.rien_ecrit"))),
    };
    let options = PadesOptions {
        reason: args.raison.clone(),
        location: args.lieu.clone(),
        appearance,
        ..PadesOptions::default()
    };
    if let Err(e) = sign_pdf(&args.fichier, &args.sortie, key.as_mut(), &options) {
        return error(&format!("{e} {}", t("actes.cli.rien_ecrit")));
    }
    if args.json {
        let doc = json!({
            "signe": true,
            "sortie": args.sortie,
            "visible": matches!(appearance, Appearance::Visible { .. }),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!(
            "{}",
            tf(
                "actes_signature.pdf_signe",
                &[("chemin", &args.sortie.display().to_string())]
            )
        );
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_zones_are_read_or_refused() {
        assert_eq!(
            parse_visible("2:350,40,560.5,110"),
            Some(Appearance::Visible {
                page: 2,
                rect: [350.0, 40.0, 560.5, 110.0]
            })
        );
        for bad in [
            "0:1,2,3,4",
            "1:1,2,3",
            "1,2,3,4",
            "1:a,2,3,4",
            "1:1,2,3,4,5",
            "1:NaN,1,2,3",
        ] {
            assert_eq!(parse_visible(bad), None, "{bad}");
        }
    }
}
