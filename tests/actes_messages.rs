//! Reading what the préfecture sends back: every ACTES XML sample of the conformance set is read,
//! and what Paraphe reports agrees with libxml2's reading of the same file (root element, act,
//! dates, documents through `xmllint --xpath`; schema verdict through `xmllint --schema`); the
//! préfecture's `.tar.gz` agrees with `tar`'s listing. Samples are read in place.

mod common;

use common::{conformance, tools};
use paraphe::actes::answers::AnswerKind;
use paraphe::actes::messages::{
    Details, DocumentRole, FileKind, FileRole, MessageKind, Origin, Reading, read_file,
    read_message,
};
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> Option<PathBuf> {
    conformance("actes/samples")
}

fn xsd() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/actes/xsd/actesv1_1.xsd")
}

fn xpath(file: &Path, expr: &str) -> String {
    let out = Command::new("xmllint")
        .args(["--xpath", expr])
        .arg(file)
        .output()
        .expect("xmllint");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn schema_valid(file: &Path) -> bool {
    Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd())
        .arg(file)
        .output()
        .expect("xmllint")
        .status
        .success()
}

fn files_with(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_with(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
    out.sort();
}

/// The message table of the reference notes (root element → type code), written here, not
/// taken from Paraphe.
fn expected_code(root: &str) -> Option<&'static str> {
    Some(match root {
        "Acte" => "1-1",
        "ARActe" => "1-2",
        "AnomalieActe" => "1-3",
        "CourrierSimple" => "2-1",
        "ReponseCourrierSimple" => "2-2",
        "DemandePieceComplementaire" => "3-1",
        "ARDemandePieceComplementaire" => "3-2",
        "RefusPieceComplementaire" => "3-3",
        "PieceComplementaire" => "3-4",
        "ARPieceComplementaire" => "3-5",
        "LettreObservations" => "4-1",
        "ARLettreObservations" => "4-2",
        "RejetLettreObservations" => "4-3",
        "ReponseLettreObservations" => "4-4",
        "ARReponseRejetLettreObservations" => "4-5",
        "DefereTA" => "5-1",
        "Annulation" => "6-1",
        "ARAnnulation" => "6-2",
        "DemandeClassification" => "7-1",
        "RetourClassification" => "7-2",
        "ReponseClassificationSansChangement" => "7-3",
        "EnveloppeCLMISILL" => "enveloppe-collectivite",
        "EnveloppeMISILLCL" => "enveloppe-prefecture",
        "AnomalieEnveloppe" => "anomalie-enveloppe",
        _ => return None,
    })
}

/// XPath of the main date of a message, by root element.
fn date_xpath(root: &str) -> Option<&'static str> {
    Some(match root {
        "Acte" => "string(/*/@*[local-name()='Date'])",
        "ARActe" | "ARAnnulation" | "ARPieceComplementaire" => {
            "string(/*/@*[local-name()='DateReception'])"
        }
        "AnomalieActe" | "AnomalieEnveloppe" => "string(/*/*[local-name()='Date'])",
        "CourrierSimple"
        | "DemandePieceComplementaire"
        | "RefusPieceComplementaire"
        | "PieceComplementaire"
        | "LettreObservations" => "string(/*/@*[local-name()='DateCourrierPref'])",
        "DefereTA" => "string(/*/*[local-name()='DateDepot'])",
        "RetourClassification" | "ReponseClassificationSansChangement" => {
            "string(/*/*[local-name()='DateClassification'])"
        }
        _ => return None,
    })
}

#[test]
fn every_xml_sample_is_read_as_libxml2_reads_it() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmllint"]) {
        return;
    }
    let mut files = Vec::new();
    files_with(&dir, ".xml", &mut files);
    assert!(files.len() >= 30, "only {} samples found", files.len());
    let (mut valid, mut invalid) = (0, 0);
    for file in &files {
        let name = file.display().to_string();
        let root = xpath(file, "local-name(/*)");
        let message = read_message(std::fs::File::open(file).expect("open"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(message.racine, root, "{name}");
        let code = expected_code(&root).unwrap_or_else(|| panic!("{name}: root {root}"));
        assert_eq!(message.kind.code(), code, "{name}");
        assert!(
            !message.libelle.is_empty() && !message.libelle.contains('⟦'),
            "{name}"
        );

        // The act, as libxml2 reads the root's IDActe.
        let id = xpath(file, "string(/*/@*[local-name()='IDActe'])");
        if !id.is_empty() {
            assert_eq!(message.id_acte.as_deref(), Some(id.as_str()), "{name}");
        }
        if let Some(expr) = date_xpath(&root) {
            let date = xpath(file, expr);
            assert_eq!(message.date.clone().unwrap_or_default(), date, "{name}");
        }

        // The files carried by courriers, pieces and déférés.
        if matches!(
            root.as_str(),
            "CourrierSimple"
                | "RefusPieceComplementaire"
                | "PieceComplementaire"
                | "DefereTA"
                | "DemandePieceComplementaire"
                | "LettreObservations"
        ) {
            let n: usize = xpath(file, "count(//*[local-name()='NomFichier'])")
                .parse::<f64>()
                .expect("count") as usize;
            assert_eq!(message.documents.len(), n, "{name}");
            for (i, d) in message.documents.iter().enumerate() {
                let expected = xpath(
                    file,
                    &format!("string((//*[local-name()='NomFichier'])[{}])", i + 1),
                );
                assert_eq!(d.nom, expected, "{name}");
            }
        }

        // Schema departures are reported exactly when the schema rejects the file.
        let is_valid = schema_valid(file);
        assert_eq!(
            message.avertissements.is_empty(),
            is_valid,
            "{name}: xmllint says {}, Paraphe reports {:?}",
            if is_valid { "valid" } else { "invalid" },
            message.avertissements
        );
        for w in &message.avertissements {
            assert!(!w.contains('⟦') && !w.contains('{'), "{name}: {w}");
        }
        if is_valid {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid > 10 && invalid > 5,
        "{valid} valid, {invalid} invalid"
    );
}

fn sample(rel: &str) -> Option<PathBuf> {
    samples().map(|d| d.join(rel))
}

fn message_of(rel: &str) -> Option<paraphe::actes::messages::ActesMessage> {
    let path = sample(rel)?;
    Some(
        read_message(std::fs::File::open(&path).expect("open"))
            .unwrap_or_else(|e| panic!("{rel}: {e}")),
    )
}

#[test]
fn acknowledgement_yields_act_reception_and_classification_dates() {
    let Some(m) = message_of(
        "pastell-megalis/test/PHPUnit/module/actes-preversement-seda/fixtures/034-491011698-20171207-CL20171227_06-DE-1-2.xml",
    ) else {
        return;
    };
    assert_eq!(m.kind, MessageKind::ARActe);
    assert_eq!(m.origine, Origin::Prefecture);
    assert_eq!(m.libelle, "Accusé de réception");
    assert_eq!(
        m.id_acte.as_deref(),
        Some("034-491011698-20171207-CL20171227_06-DE")
    );
    let Details::AccuseReception {
        date_reception,
        classification_en_cours,
        acte_recu,
    } = &m.details
    else {
        panic!("{:?}", m.details)
    };
    assert_eq!(date_reception.as_deref(), Some("2017-12-27"));
    assert_eq!(classification_en_cours.as_deref(), Some("2017-11-13"));
    let acte = acte_recu.as_ref().expect("ActeRecu");
    assert_eq!(acte.numero_interne.as_deref(), Some("CL20171227_06"));
    // &#xE9; in the source.
    assert_eq!(acte.objet.as_deref(), Some("Fichier signé parapheur"));
    assert_eq!(acte.matieres, ["3", "2"]);
    assert!(m.avertissements.is_empty(), "{:?}", m.avertissements);
    assert_eq!(AnswerKind::answers_to(m.kind), [AnswerKind::Annulation]);
}

#[test]
fn anomalies_yield_nature_and_detail_even_out_of_schema() {
    let base = "s2low/test/PHPUnit/class/fixtures";
    let Some(m) = message_of(&format!(
        "{base}/test-message-anomalie/034-000000000-20170701-20170721D-AI-1-3_0.xml"
    )) else {
        return;
    };
    assert_eq!(m.kind.code(), "1-3");
    let Details::AnomalieActe { nature, detail, .. } = &m.details else {
        panic!("{:?}", m.details)
    };
    assert_eq!(nature.as_deref(), Some("042"));
    assert_eq!(detail.as_deref(), Some("Ca ne fonctionne pas"));
    // Only DocumentPapier is missing (revised schema).
    assert_eq!(m.avertissements.len(), 1, "{:?}", m.avertissements);
    assert!(m.avertissements[0].contains("DocumentPapier"));

    let Some(bad) = message_of(&format!(
        "{base}/test-message-anomalie-avec-erreur-mal-presentee/034-000000000-20170701-20170721D-AI-1-3_0.xml"
    )) else {
        return;
    };
    let Details::AnomalieActe { nature, .. } = &bad.details else {
        panic!()
    };
    assert_eq!(nature.as_deref(), Some("ERREUR2"));
    assert!(
        bad.avertissements
            .iter()
            .any(|w| w.contains("ERREUR2") && w.contains("3 chiffres")),
        "{:?}",
        bad.avertissements
    );

    let Some(env) = message_of(&format!(
        "{base}/test-anomalie/ANO_EACT--210703385--20170612-2.xml"
    )) else {
        return;
    };
    assert_eq!(env.kind, MessageKind::AnomalieEnveloppe);
    let Details::AnomalieEnveloppe {
        nature,
        detail,
        enveloppe_recue,
        ..
    } = &env.details
    else {
        panic!()
    };
    assert_eq!(nature.as_deref(), Some("5"));
    assert!(detail.as_deref().unwrap_or("").contains("numéro de SIREN"));
    let recue = enveloppe_recue.as_ref().expect("EnveloppeRecue");
    assert_eq!(recue.siren.as_deref(), Some("210703385"));
    assert_eq!(
        recue.formulaires,
        ["007-210703385-20170519-2017_048-DE-1-1_0.xml"]
    );
}

#[test]
fn courrier_envelope_and_defere_yield_their_documents() {
    let base = "s2low/test/PHPUnit/class/fixtures";
    let Some(c) = message_of(&format!(
        "{base}/test-courrier-simple/034-000000000-20170701-20170725A-AI-2-1_0.xml"
    )) else {
        return;
    };
    assert_eq!(c.libelle, "Courrier simple de la préfecture");
    assert_eq!(c.date_courrier(), Some("2017-07-25"));
    assert_eq!(c.documents.len(), 1);
    assert_eq!(c.documents[0].role, DocumentRole::Courrier);
    assert_eq!(
        c.documents[0].nom,
        "034-000000000-20170701-20170725A-AI-2-1_1.pdf"
    );

    let Some(e) = message_of(&format!(
        "{base}/test-courrier-simple/TACT--SPREF0011-000000000-20170725-1.xml"
    )) else {
        return;
    };
    let Details::EnveloppePrefecture(env) = &e.details else {
        panic!()
    };
    assert_eq!(env.emetteur.as_deref(), Some("IDSousPref"));
    assert_eq!(env.destinataire_siren.as_deref(), Some("000000000"));
    assert_eq!(
        e.formulaires(),
        ["034-000000000-20170701-20170725A-AI-2-1_0.xml"]
    );

    let Some(d) = message_of(&format!(
        "{base}/test-defere-ta/034-000000000-20170701-20170725A-AI-5-1_0.xml"
    )) else {
        return;
    };
    assert_eq!(d.kind.code(), "5-1");
    let Details::DefereTA {
        date_depot,
        nature_illegalite,
    } = &d.details
    else {
        panic!()
    };
    assert_eq!(date_depot.as_deref(), Some("2017-07-01"));
    assert_eq!(nature_illegalite.as_deref(), Some("NATURE_TEST"));
    assert_eq!(d.documents[0].role, DocumentRole::Piece);
}

#[test]
fn classification_is_recognised_with_its_date() {
    let Some(m) = message_of("s2low/test/PHPUnit/class/fixtures/classification.xml") else {
        return;
    };
    assert_eq!(m.kind.code(), "7-2");
    assert_eq!(m.date.as_deref(), Some("2017-08-28"));
}

/// `actes lire` on a 7-2 gives its content, not only its date: natures with their typologies and
/// how many matières, each figure counted by xmllint on the same file.
#[test]
fn classification_content_agrees_with_xmllint() {
    let Some(dir) = samples() else {
        return;
    };
    let mut files = Vec::new();
    files_with(&dir, "xml", &mut files);
    let mut seen = 0;
    for file in files {
        let Ok(paraphe::actes::messages::Reading::Message(m)) =
            paraphe::actes::messages::read_file(&file)
        else {
            continue;
        };
        if m.kind.code() != "7-2" {
            continue;
        }
        let paraphe::actes::messages::Details::Classification {
            natures, matieres, ..
        } = &m.details
        else {
            panic!("{}: 7-2 without classification details", file.display());
        };
        let count = |expr: &str| -> usize {
            xpath(&file, &format!("count({expr})"))
                .parse()
                .unwrap_or_else(|_| panic!("xmllint count {expr}"))
        };
        let nature_count = count("/*/*[local-name()='NaturesActes']/*[local-name()='NatureActe']");
        assert_eq!(natures.len(), nature_count, "{}", file.display());
        let typologies: usize = natures.iter().map(|n| n.typologies.len()).sum();
        assert_eq!(
            typologies,
            count("//*[local-name()='TypePJNatureActe']"),
            "{}",
            file.display()
        );
        let all_matieres =
            count("//*[starts-with(local-name(),'Matiere') and local-name()!='Matieres']");
        if all_matieres > 0 {
            let m = matieres.expect("matières counted");
            assert_eq!(m.total, all_matieres, "{}", file.display());
            assert_eq!(
                m.premier_niveau,
                count("//*[local-name()='Matiere1']"),
                "{}",
                file.display()
            );
        }
        // What the command line prints names every nature's typologies.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(["actes", "lire"])
            .arg(&file)
            .output()
            .expect("paraphe");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        if let Some(code) = natures
            .iter()
            .flat_map(|n| &n.typologies)
            .find_map(|t| t.code.as_ref())
        {
            assert!(text.contains(code.as_str()), "{text}");
        }
        seen += 1;
    }
    assert!(
        seen >= 2,
        "the conformance set has several 7-2 classifications"
    );
}

/// `tar tzvf` listing: (name, size).
fn tar_listing(archive: &Path) -> Vec<(String, u64)> {
    let out = Command::new("tar")
        .arg("tzvf")
        .arg(archive)
        .output()
        .expect("tar");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (
                cols.last().expect("name").to_string(),
                cols[2].parse().expect("size"),
            )
        })
        .collect()
}

#[test]
fn prefecture_archive_is_read_as_tar_lists_it() {
    let Some(archive) =
        sample("pastell-megalis/test/PHPUnit/fixtures/tar_ball/courrier_simple.tar.gz")
    else {
        return;
    };
    if !tools(&["tar"]) {
        return;
    }
    let Reading::Archive(a) = read_file(&archive).expect("archive read") else {
        panic!("not read as an archive")
    };
    let mut ours: Vec<(String, u64)> = a
        .fichiers
        .iter()
        .map(|f| (f.nom.clone(), f.taille))
        .collect();
    let mut theirs = tar_listing(&archive);
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(a.kind.code(), "2-1");
    assert_eq!(
        a.id_acte.as_deref(),
        Some("001-862614864-20150805-20150805B-AI")
    );
    assert!(a.avertissements.is_empty(), "{:?}", a.avertissements);
    let env = a.enveloppe.as_ref().expect("envelope");
    assert_eq!(env.kind, MessageKind::EnveloppeMISILLCL);
    let letter = &a.messages[0].documents[0];
    assert_eq!(letter.nature, Some(FileKind::Pdf));
    let pdf = a.file(&letter.nom).expect("member");
    assert_eq!(Some(pdf.taille), letter.taille);
    assert_eq!(pdf.role, FileRole::Document);
    // The bytes are those tar extracts.
    let out = Command::new("tar")
        .args(["xzOf"])
        .arg(&archive)
        .arg(&letter.nom)
        .output()
        .expect("tar");
    assert_eq!(a.content(&letter.nom), Some(out.stdout.as_slice()));
    assert_eq!(a.documents().len(), 1);
}

#[test]
fn files_are_recognised_by_content() {
    let Some(pdf) =
        sample("pastell-megalis/test/PHPUnit/module/actes-generique/fixtures/Delib Adullact.pdf")
    else {
        return;
    };
    let err = read_file(&pdf).expect_err("a PDF is not a message");
    assert!(err.to_string().contains("PDF"), "{err}");
    let Some(json) = sample(
        "pastell-megalis/test/PHPUnit/module/actes-generique/fixtures/actes_transac_get_files_list.json",
    ) else {
        return;
    };
    assert!(read_file(&json).is_err());
}

/// Small textual changes to a document: each one (that keeps it well-formed) must get the same
/// verdict from Paraphe's schema check as from `xmllint --schema`.
fn mutations(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // Start tags: positions of "<actes:" not followed by '/'.
    let starts: Vec<usize> = text.match_indices("<actes:").map(|(i, _)| i).collect();
    for &s in &starts {
        let Some(end) = text[s..].find('>').map(|e| s + e) else {
            continue;
        };
        let tag = &text[s..=end];
        let name_end = tag
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(tag.len());
        let qname = &tag[1..name_end];
        // An unknown attribute, and an unprefixed copy of each prefixed attribute.
        let insert_at = s + name_end;
        out.push((
            format!("{qname}: attribut inconnu"),
            format!(
                "{} actes:Inconnu=\"1\"{}",
                &text[..insert_at],
                &text[insert_at..]
            ),
        ));
        // The whole element (empty, or up to its end tag when it has no child of the same name).
        let element_end = if tag.ends_with("/>") {
            Some(end + 1)
        } else {
            let close = format!("</{qname}>");
            text[end..].find(&close).map(|c| end + c + close.len())
        };
        if let Some(e) = element_end {
            out.push((
                format!("{qname}: supprimé"),
                format!("{}{}", &text[..s], &text[e..]),
            ));
            out.push((
                format!("{qname}: doublé"),
                format!("{}{}{}", &text[..e], &text[s..e], &text[e..]),
            ));
            // Its text, when it has only text.
            if !tag.ends_with("/>") {
                let inner = &text[end + 1..e - qname.len() - 3];
                if !inner.contains('<') {
                    for replacement in ["x", "", "2017-02-30", "12", "034"] {
                        out.push((
                            format!("{qname}: texte « {replacement} »"),
                            format!(
                                "{}{replacement}{}",
                                &text[..=end],
                                &text[e - qname.len() - 3..]
                            ),
                        ));
                    }
                }
            }
        }
        // Each attribute value.
        let mut i = s;
        while let Some(eq) = text[i..end].find("=\"").map(|p| i + p) {
            let vstart = eq + 2;
            let Some(vend) = text[vstart..end].find('"').map(|p| vstart + p) else {
                break;
            };
            let attr_start = text[s..eq].rfind(' ').map(|p| s + p + 1).unwrap_or(eq);
            let attr = &text[attr_start..eq];
            if !attr.starts_with("xmlns") && !attr.starts_with("xsi:") {
                for replacement in [
                    "x",
                    "",
                    "2017-02-30",
                    "1",
                    "034",
                    "034-123456789-20170101-A_1-DE",
                    "123456789",
                ] {
                    out.push((
                        format!("{qname}/@{attr} = « {replacement} »"),
                        format!("{}{replacement}{}", &text[..vstart], &text[vend..]),
                    ));
                }
                if let Some(local) = attr.strip_prefix("actes:") {
                    out.push((
                        format!("{qname}/@{attr} sans préfixe"),
                        format!("{}{local}{}", &text[..attr_start], &text[eq..]),
                    ));
                }
            }
            i = vend + 1;
        }
    }
    out
}

#[test]
fn schema_departures_agree_with_xmllint_on_mutated_samples() {
    let Some(dir) = samples() else { return };
    if !tools(&["xmllint"]) {
        return;
    }
    let mut files = Vec::new();
    files_with(&dir, ".xml", &mut files);
    let tmp = tempfile::tempdir().expect("tmp");
    let mut disagreements = Vec::new();
    let mut compared = 0;
    let mut rejected = 0;
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        // The samples are ASCII or Latin-1: keep the bytes as Latin-1 characters.
        let text: String = bytes.iter().map(|&b| char::from(b)).collect();
        if text.len() > 5000 {
            continue; // the big classifications: too many mutations for one test
        }
        for (what, mutated) in mutations(&text) {
            let data: Vec<u8> = mutated
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect();
            let Ok(message) = read_message(data.as_slice()) else {
                continue; // not well-formed any more, or no longer an ACTES root
            };
            let path = tmp.path().join("m.xml");
            std::fs::write(&path, &data).expect("write");
            let valid = schema_valid(&path);
            compared += 1;
            rejected += usize::from(!valid);
            if message.avertissements.is_empty() != valid {
                disagreements.push(format!(
                    "{} — {what}: xmllint {}, Paraphe {:?}",
                    file.file_name().unwrap_or_default().to_string_lossy(),
                    if valid { "valide" } else { "invalide" },
                    message.avertissements
                ));
            }
        }
    }
    eprintln!("{compared} mutations compared with xmllint, {rejected} rejected by the schema");
    assert!(
        compared > 500 && rejected > 200 && compared - rejected > 200,
        "{compared} mutations compared, {rejected} rejected"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements out of {compared}:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// The conformance set has no 6-2 (accusé de réception d'annulation) nor 7-3 (classification
/// sans changement): both are written here from the schema, checked valid by xmllint first, then
/// read by Paraphe (library and `actes lire --json`) with their act, date and French label.
#[test]
fn cancellation_acknowledgement_and_unchanged_classification_are_read() {
    if samples().is_none() || !tools(&["xmllint"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let ns = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216";
    let cases = [
        (
            "6-2",
            format!(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<actes:ARAnnulation xmlns:actes=\"{ns}\" actes:IDActe=\"034-210000000-20261120-DEL42-DE\" actes:DateReception=\"2026-11-27\"/>\n"
            ),
            Some("034-210000000-20261120-DEL42-DE"),
            "2026-11-27",
        ),
        (
            "7-3",
            format!(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<actes:ReponseClassificationSansChangement xmlns:actes=\"{ns}\"><actes:DateClassification>2024-01-01</actes:DateClassification></actes:ReponseClassificationSansChangement>\n"
            ),
            None,
            "2024-01-01",
        ),
    ];
    for (code, xml, id_acte, date) in cases {
        let path = dir.path().join(format!("{code}.xml"));
        std::fs::write(&path, &xml).expect("write");
        assert!(schema_valid(&path), "{code} must be schema-valid: {xml}");
        let m = read_message(std::fs::File::open(&path).expect("open"))
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(m.kind.code(), code);
        assert_eq!(m.id_acte.as_deref(), id_acte, "{code}");
        assert_eq!(m.date.as_deref(), Some(date), "{code}");
        assert!(
            m.avertissements.is_empty(),
            "{code}: {:?}",
            m.avertissements
        );
        assert!(
            !m.libelle.is_empty() && !m.libelle.starts_with('⟦'),
            "{code}"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_paraphe"))
            .args(["actes", "lire"])
            .arg(&path)
            .arg("--json")
            .output()
            .expect("paraphe");
        assert_eq!(out.status.code(), Some(0), "{code}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(doc["type"], code);
        assert_eq!(doc["id_acte"].as_str(), id_acte, "{doc}");
    }
}
