//! The checks of a PES_Aller before it is signed or leaves the workstation, for `pes controler`,
//! the window's « Contrôles » and the outbox's door: the DGFiP's schema (the one shipped inside
//! the program unless another is chosen) and Paraphe's own rules, run side by side. At the door
//! the signatures are verified too, and an unsigned bordereau is refused unless the collectivité
//! still signs its bordereaux on paper.

use super::PesError;
use super::checks::{Intent, check};
use super::summary::PesSummary;
use super::verify::{FileVerdict, verify_file};
use crate::certs::trust::TrustStore;
use crate::findings::{Finding, Location, resolve_lines};
use crate::messages::{t, tf};
use crate::xml::schema::{SchemaKind, XmlSchema, builtin_pes_aller};
use std::path::Path;

/// What the checks found in a file.
pub struct Control {
    pub summary: PesSummary,
    /// Schema findings first, then the rules' (each with its line when it could be found).
    pub findings: Vec<Finding>,
}

impl Control {
    pub fn is_blocked(&self) -> bool {
        self.findings.iter().any(Finding::is_blocking)
    }
}

/// The schema check alone, as the settings choose the schema (for the window, which shows the
/// summary first and the schema's findings when they come): findings with their lines.
pub fn schema_check(path: &Path, settings: &crate::settings::Settings) -> Vec<Finding> {
    let data_dir = crate::settings::data_dir().ok();
    let mut findings = schema_findings(path, settings.pes.schema.as_deref(), data_dir.as_deref());
    if let Ok(mut file) = crate::files::open_regular(path) {
        let _ = resolve_lines(&mut findings, &mut file);
    }
    findings
}

/// Which schema validates the file: `explicit` (an option or the settings' `[pes] schema`), else
/// the shipped one (written under `data_dir`).
fn schema_findings(path: &Path, explicit: Option<&Path>, data_dir: Option<&Path>) -> Vec<Finding> {
    let not_done = |message: String| {
        vec![Finding::warning(
            "pes.schema_non_verifie",
            message,
            Location::default(),
        )]
    };
    let xsd = match (explicit, data_dir) {
        (Some(xsd), _) => xsd.to_owned(),
        (None, Some(dir)) => match builtin_pes_aller(dir) {
            Ok(xsd) => xsd,
            Err(e) => return not_done(e.to_string()),
        },
        (None, None) => return not_done(t("schema.non_verifie")),
    };
    match XmlSchema::load(&xsd, SchemaKind::Pes).and_then(|s| s.validate(path)) {
        Ok(findings) => findings,
        Err(e) => not_done(e.to_string()),
    }
}

/// Where the schema comes from and whether the summary carries the file's SHA-256 (for a review
/// that a signature will follow).
#[derive(Debug, Clone, Copy, Default)]
pub struct ControlOptions<'a> {
    /// A schema chosen instead of the shipped one (option, or `[pes] schema`).
    pub schema: Option<&'a Path>,
    /// Where the shipped schemas are written; None: the schema check is reported as not done.
    pub data_dir: Option<&'a Path>,
    pub with_sha256: bool,
    /// The settings, to say whether the PES is the collectivité's (its `IdColl`); None: not
    /// judged.
    pub settings: Option<&'a crate::settings::Settings>,
}

/// Validate `path` against the schema and run the rules for `intent`. The schema validation
/// (libxml2) and the summary run on two threads: the check takes the longer one's time.
pub fn control_file(
    path: &Path,
    intent: Intent,
    options: ControlOptions,
) -> Result<Control, PesError> {
    let (summary, mut findings) = std::thread::scope(|scope| {
        let validation = scope.spawn(|| schema_findings(path, options.schema, options.data_dir));
        let summary = if options.with_sha256 {
            super::inspect_file(path)
        } else {
            super::summarise_file(path)
        };
        (summary, validation.join().unwrap_or_default())
    });
    let summary = summary?;
    findings.extend(check(&summary, intent));
    if let Some(settings) = options.settings {
        findings.extend(super::checks::collectivite_finding(&summary, settings));
    }
    if let Ok(mut file) = std::fs::File::open(path) {
        // Line numbers are a comfort: without them the element still says where.
        let _ = resolve_lines(&mut findings, &mut file);
    }
    Ok(Control { summary, findings })
}

/// What the door of the outbox says of a PES: the checks, the signatures' verdict, and whether
/// it may wait to be sent.
pub struct DoorCheck {
    pub control: Control,
    pub verdict: Option<FileVerdict>,
}

impl DoorCheck {
    /// Nothing blocks: the file may be put `en attente`.
    pub fn accepted(&self) -> bool {
        !self.control.is_blocked()
    }

    /// Why the file is refused: its blocking findings' messages, in one text.
    pub fn refusal(&self) -> String {
        self.control
            .findings
            .iter()
            .filter(|f| f.is_blocking())
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The outbox's door for a PES (`envois ajouter pes`, « Mettre en file d'envoi »): the same
/// checks as `pes controler`, then the signatures. A blocking finding, an invalid signature or an
/// unsigned bordereau refuse the file — except that an unsigned file is let through with a
/// warning when `signed_on_paper` (the collectivité still signs its bordereaux on paper).
pub fn door_check(
    path: &Path,
    settings: &crate::settings::Settings,
) -> Result<DoorCheck, PesError> {
    door_check_for(path, settings, false)
}

/// The door for a PES queued to be signed here later (`envois ajouter pes --a-signer`): the same
/// checks, an unsigned file let through with a note saying it waits for its signature; signatures
/// already there must be valid.
pub fn door_check_to_sign(
    path: &Path,
    settings: &crate::settings::Settings,
) -> Result<DoorCheck, PesError> {
    door_check_for(path, settings, true)
}

fn door_check_for(
    path: &Path,
    settings: &crate::settings::Settings,
    to_be_signed: bool,
) -> Result<DoorCheck, PesError> {
    let data_dir = crate::settings::data_dir().ok();
    let mut control = control_file(
        path,
        Intent::Check,
        ControlOptions {
            schema: settings.pes.schema.as_deref(),
            data_dir: data_dir.as_deref(),
            with_sha256: false,
            settings: Some(settings),
        },
    )?;
    let signed_on_paper = settings.pes.bordereaux_signes_sur_papier;
    let trust = TrustStore::chosen(None, settings);
    let verdict = match &trust {
        Ok(store) => verify_file(path, store.as_ref()).ok(),
        Err(_) => None,
    };
    let unsigned = verdict.as_ref().is_none_or(|v| v.signatures.is_empty());
    let at_file = Location::default;
    let without_trust = t("verification.sans_confiance");
    match (&verdict, &trust) {
        (_, Err(e)) => control.findings.push(Finding::blocking(
            "pes.porte.confiance",
            e.to_string(),
            at_file(),
        )),
        (_, _) if unsigned && to_be_signed => control.findings.push(Finding::warning(
            "pes.porte.a_signer",
            t("pes.porte.a_signer"),
            at_file(),
        )),
        (_, _) if unsigned && signed_on_paper => control.findings.push(Finding::warning(
            "pes.porte.non_signe_papier",
            t("pes.porte.non_signe_papier"),
            at_file(),
        )),
        (_, _) if unsigned => control.findings.push(Finding::blocking(
            "pes.porte.non_signe",
            t("pes.porte.non_signe"),
            at_file(),
        )),
        (Some(v), Ok(store)) => {
            // Without a trust store the chain cannot be judged: everything else must hold, and
            // the warning says what was not checked.
            let fails = |s: &&super::verify::SignatureVerdict| {
                !s.valide && (store.is_some() || s.raison.iter().any(|r| *r != without_trust))
            };
            for s in v.signatures.iter().filter(fails) {
                let target = s.cible.as_deref().unwrap_or("?");
                control.findings.push(Finding::blocking(
                    "pes.porte.signature_invalide",
                    tf(
                        "pes.porte.signature_invalide",
                        &[("cible", target), ("raison", &s.raison.join(" "))],
                    ),
                    Location {
                        element: Some(target.to_owned()),
                        ..Default::default()
                    },
                ));
            }
            for problem in &v.erreurs {
                control.findings.push(Finding::blocking(
                    "pes.porte.fichier_invalide",
                    problem.clone(),
                    at_file(),
                ));
            }
            if store.is_none() {
                control.findings.push(Finding::warning(
                    "pes.porte.chaine_non_verifiee",
                    t("pes.porte.chaine_non_verifiee"),
                    at_file(),
                ));
            }
        }
        (None, Ok(_)) => {}
    }
    Ok(DoorCheck { control, verdict })
}
