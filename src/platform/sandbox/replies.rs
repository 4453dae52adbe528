//! What the sandbox sends back in the préfecture's and the DGFiP's place: the ARActe and the
//! PES_Acquit, built as the real ones are (ACTES schema v1.1, PES_Acquit of the PES V2 schemas).

use crate::actes::model::Nature;
use crate::pes::summary::PesSummary;

/// Escape text for an attribute or element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The act as received, for the AR.
pub struct ActeRecu<'a> {
    pub id_acte: &'a str,
    pub nature: u8,
    pub date_decision: &'a str,
    pub numero: &'a str,
    pub matieres: &'a [String],
    pub objet: &'a str,
    pub fichiers: &'a [String],
    pub date_reception: &'a str,
    pub classification_date: &'a str,
    pub document_papier: bool,
}

/// `actes:ARActe` (the préfecture's accusé de réception).
pub fn ar_acte(a: &ActeRecu) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
    x.push_str(&format!(
        "<actes:ARActe xmlns:actes=\"http://www.interieur.gouv.fr/ACTES#v1.1-20040216\" \
         actes:IDActe=\"{}\" actes:DateReception=\"{}\">\n",
        escape(a.id_acte),
        escape(a.date_reception)
    ));
    x.push_str(&format!(
        "  <actes:ActeRecu actes:CodeNatureActe=\"{}\" actes:Date=\"{}\" actes:NumeroInterne=\"{}\">\n",
        a.nature,
        escape(a.date_decision),
        escape(a.numero)
    ));
    for (i, level) in a.matieres.iter().enumerate().take(5) {
        x.push_str(&format!(
            "    <actes:CodeMatiere{n} actes:CodeMatiere=\"{}\"/>\n",
            escape(level),
            n = i + 1
        ));
    }
    x.push_str(&format!(
        "    <actes:Objet>{}</actes:Objet>\n",
        escape(a.objet)
    ));
    x.push_str(&format!(
        "    <actes:ClassificationDateVersion>{}</actes:ClassificationDateVersion>\n",
        escape(a.classification_date)
    ));
    let (document, annexes) = a
        .fichiers
        .split_first()
        .map_or((None, &[][..]), |(d, r)| (Some(d), r));
    if let Some(d) = document {
        x.push_str(&format!(
            "    <actes:Document>\n      <actes:NomFichier>{}</actes:NomFichier>\n    </actes:Document>\n",
            escape(d)
        ));
    }
    if annexes.is_empty() {
        x.push_str("    <actes:Annexes actes:Nombre=\"0\"/>\n");
    } else {
        x.push_str(&format!(
            "    <actes:Annexes actes:Nombre=\"{}\">\n",
            annexes.len()
        ));
        for name in annexes {
            x.push_str(&format!(
                "      <actes:Annexe>\n        <actes:NomFichier>{}</actes:NomFichier>\n      </actes:Annexe>\n",
                escape(name)
            ));
        }
        x.push_str("    </actes:Annexes>\n");
    }
    x.push_str(&format!(
        "    <actes:DocumentPapier>{}</actes:DocumentPapier>\n",
        if a.document_papier { "O" } else { "N" }
    ));
    x.push_str("  </actes:ActeRecu>\n");
    x.push_str(&format!(
        "  <actes:ClassificationDateVersionEnCours>{}</actes:ClassificationDateVersionEnCours>\n",
        escape(a.classification_date)
    ));
    x.push_str("</actes:ARActe>\n");
    x
}

/// The IDActe the préfecture gives an act: département-SIREN-date-numéro-nature.
pub fn id_acte(
    departement: &str,
    siren: &str,
    date_decision: &str,
    numero: &str,
    nature: u8,
) -> String {
    let abbreviation = Nature::from_code(nature)
        .map(|n| n.abbreviation())
        .unwrap_or("AU");
    format!(
        "{departement}-{siren}-{}-{numero}-{abbreviation}",
        date_decision.replace('-', "")
    )
}

/// One line of the acquit: a bordereau accepted, or refused with its error.
pub struct AckLine {
    pub domaine: u32,
    pub accepte: bool,
    pub bordereau: Option<String>,
    pub exercice: Option<String>,
    pub erreur: Option<(String, String)>,
}

/// `PES_ACQUIT` for a PES_Aller.
pub fn pes_acquit(summary: &PesSummary, date: &str, lines: &[AckLine]) -> Vec<u8> {
    let v = |name: &str, value: &Option<String>| {
        value
            .as_ref()
            .map(|val| format!("<{name} V=\"{}\"/>", escape(val)))
            .unwrap_or_default()
    };
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
    x.push_str(
        "<n:PES_ACQUIT xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/retour/v2\">\n",
    );
    x.push_str("  <Enveloppe>\n    <Parametres>\n      <Version V=\"2\"/>\n      <TypFic V=\"PESALR2\"/>\n");
    x.push_str(&format!(
        "      {}\n",
        v("NomFic", &summary.enveloppe.nom_fic)
    ));
    x.push_str("    </Parametres>\n    <Emetteur>\n      <Sigle V=\"HELIOS\"/>\n    </Emetteur>\n");
    x.push_str("    <Recepteur>\n      <Sigle V=\"PARAPHE\"/>\n    </Recepteur>\n  </Enveloppe>\n");
    x.push_str("  <EnTetePES>\n");
    x.push_str(&format!("    <DteStr V=\"{}\"/>\n", escape(date)));
    for (name, value) in [
        ("IdPost", &summary.entete.id_post),
        ("IdColl", &summary.entete.id_coll),
        ("CodCol", &summary.entete.cod_col),
        ("CodBud", &summary.entete.cod_bud),
    ] {
        let tag = v(name, value);
        if !tag.is_empty() {
            x.push_str(&format!("    {tag}\n"));
        }
    }
    x.push_str("  </EnTetePES>\n  <ACQUIT>\n    <EnTeteAcquit>\n      <IdVer V=\"2\"/>\n    </EnTeteAcquit>\n");
    for line in lines {
        x.push_str("    <ElementACQUIT>\n");
        x.push_str(&format!("      <DomaineAck V=\"{}\"/>\n", line.domaine));
        x.push_str(&format!(
            "      <EtatAck V=\"{}\"/>\n",
            if line.accepte { 1 } else { 0 }
        ));
        let bord = v("NumBord", &line.bordereau);
        if !bord.is_empty() {
            x.push_str(&format!("      {bord}\n"));
        }
        let ex = v("ExerciceBord", &line.exercice);
        if !ex.is_empty() {
            x.push_str(&format!("      {ex}\n"));
        }
        if let Some((code, label)) = &line.erreur {
            x.push_str(&format!(
                "      <Erreur>\n        <NumAnoAck V=\"{}\"/>\n        <LibelleAnoAck V=\"{}\"/>\n      </Erreur>\n",
                escape(code),
                escape(label)
            ));
        }
        x.push_str("    </ElementACQUIT>\n");
    }
    x.push_str("  </ACQUIT>\n</n:PES_ACQUIT>\n");
    // Every character the PES carries is in ISO-8859-1 (its declared encoding).
    crate::latin1::encode_lossy(&x)
}

/// A one-page PDF letter (the préfecture's courrier), made with lopdf.
pub fn letter_pdf(lines: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let mut operations = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 12.into()]),
        Operation::new("TL", vec![16.into()]),
        Operation::new("Td", vec![72.into(), 760.into()]),
    ];
    for line in lines {
        // WinAnsi covers the French letters of a courrier.
        let bytes = crate::latin1::encode_lossy(line);
        operations.push(Operation::new("Tj", vec![Object::string_literal(bytes)]));
        operations.push(Operation::new("T*", vec![]));
    }
    operations.push(Operation::new("ET", vec![]));
    let content = Content { operations }.encode().unwrap_or_default();
    let content_id = doc.add_object(Stream::new(dictionary! {}, content));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    let _ = doc.save_to(&mut out);
    out
}

/// A préfecture document as S²LOW hands it over: a `.tar.gz` with the ACTES message and its letter.
/// `kind` 2 = courrier simple (2-1), 3 = demande de pièces complémentaires (3-1).
pub fn prefecture_document(kind: u8, id_acte: &str, date: &str) -> Vec<u8> {
    let (code, root, label) = match kind {
        3 => (
            "3-1",
            "DemandePieceComplementaire",
            "Demande de pièces complémentaires",
        ),
        4 => ("4-1", "LettreObservations", "Lettre d'observations"),
        _ => ("2-1", "CourrierSimple", "Courrier simple"),
    };
    let pdf_name = format!("{id_acte}-{code}_1.pdf");
    // What the schema asks before the document: DescriptionPieces (3-1), Motif (4-1).
    let extra = match kind {
        3 => {
            "  <actes:DescriptionPieces>Veuillez transmettre l'annexe budgétaire.</actes:DescriptionPieces>\n"
        }
        4 => "  <actes:Motif>La délibération ne vise pas l'avis de la commission.</actes:Motif>\n",
        _ => "",
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<actes:{root} xmlns:actes=\"http://www.interieur.gouv.fr/ACTES#v1.1-20040216\" actes:IDActe=\"{}\" actes:DateCourrierPref=\"{}\">\n{extra}  <actes:Document>\n    <actes:NomFichier>{}</actes:NomFichier>\n  </actes:Document>\n</actes:{root}>\n",
        escape(id_acte),
        escape(date),
        escape(&pdf_name)
    );
    let xml = crate::latin1::encode_lossy(&xml);
    let pdf = letter_pdf(&[
        "Préfecture — bac à sable Paraphe",
        label,
        &format!("Acte {id_acte}"),
        &format!("Le {date}"),
    ]);
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, bytes) in [(format!("{id_acte}-{code}_0.xml"), xml), (pdf_name, pdf)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let _ = tar.append_data(&mut header, name, bytes.as_slice());
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .unwrap_or_default()
}

/// The classification the sandbox's préfecture hands out (`RetourClassification`, ISO-8859-1):
/// the six natures with common typologies and a few matières on three levels.
pub fn classification_xml(date: &str) -> Vec<u8> {
    let text = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<actes:RetourClassification xmlns:actes="http://www.interieur.gouv.fr/ACTES#v1.1-20040216">
  <actes:DateClassification>{date}</actes:DateClassification>
  <actes:NaturesActes>
    <actes:NatureActe actes:CodeNatureActe="1" actes:Libelle="Délibérations" actes:TypeAbrege="DE">
      <actes:TypePJNatureActe actes:CodeTypePJ="99_DE" actes:Libelle="Délibération"/>
      <actes:TypePJNatureActe actes:CodeTypePJ="21_RP" actes:Libelle="Rapport de présentation"/>
      <actes:TypePJNatureActe actes:CodeTypePJ="99_SE" actes:Libelle="Fichier de signature électronique"/>
    </actes:NatureActe>
    <actes:NatureActe actes:CodeNatureActe="2" actes:Libelle="Actes réglementaires" actes:TypeAbrege="AR">
      <actes:TypePJNatureActe actes:CodeTypePJ="99_AR" actes:Libelle="Acte réglementaire"/>
    </actes:NatureActe>
    <actes:NatureActe actes:CodeNatureActe="3" actes:Libelle="Actes individuels" actes:TypeAbrege="AI">
      <actes:TypePJNatureActe actes:CodeTypePJ="99_AI" actes:Libelle="Acte individuel"/>
      <actes:TypePJNatureActe actes:CodeTypePJ="41_NC" actes:Libelle="Notification de création ou de vacance de poste"/>
    </actes:NatureActe>
    <actes:NatureActe actes:CodeNatureActe="4" actes:Libelle="Contrats, conventions et avenants" actes:TypeAbrege="CC">
      <actes:TypePJNatureActe actes:CodeTypePJ="99_DC" actes:Libelle="Document contractuel"/>
      <actes:TypePJNatureActe actes:CodeTypePJ="11_AE" actes:Libelle="Acte d'engagement"/>
    </actes:NatureActe>
    <actes:NatureActe actes:CodeNatureActe="5" actes:Libelle="Documents budgétaires et financiers" actes:TypeAbrege="BF">
      <actes:TypePJNatureActe actes:CodeTypePJ="99_BU" actes:Libelle="Document budgétaire"/>
      <actes:TypePJNatureActe actes:CodeTypePJ="70_DE" actes:Libelle="Délibération"/>
    </actes:NatureActe>
    <actes:NatureActe actes:CodeNatureActe="6" actes:Libelle="Autres" actes:TypeAbrege="AU">
      <actes:TypePJNatureActe actes:CodeTypePJ="99_AU" actes:Libelle="Autre document"/>
    </actes:NatureActe>
  </actes:NaturesActes>
  <actes:Matieres>
    <actes:Matiere1 actes:CodeMatiere="1" actes:Libelle="Commande Publique">
      <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Marchés publics"/>
      <actes:Matiere2 actes:CodeMatiere="2" actes:Libelle="Délégation de service public"/>
    </actes:Matiere1>
    <actes:Matiere1 actes:CodeMatiere="2" actes:Libelle="Urbanisme">
      <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Documents d'urbanisme"/>
      <actes:Matiere2 actes:CodeMatiere="2" actes:Libelle="Actes relatifs au droit d'occupation ou d'utilisation des sols">
        <actes:Matiere3 actes:CodeMatiere="1" actes:Libelle="Permis de construire"/>
      </actes:Matiere2>
    </actes:Matiere1>
    <actes:Matiere1 actes:CodeMatiere="4" actes:Libelle="Fonction publique">
      <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Personnels titulaires et stagiaires de la F.P.T."/>
    </actes:Matiere1>
    <actes:Matiere1 actes:CodeMatiere="7" actes:Libelle="Finances locales">
      <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Décisions budgétaires"/>
      <actes:Matiere2 actes:CodeMatiere="10" actes:Libelle="Divers"/>
    </actes:Matiere1>
    <actes:Matiere1 actes:CodeMatiere="9" actes:Libelle="Autres domaines de compétences">
      <actes:Matiere2 actes:CodeMatiere="1" actes:Libelle="Autres domaines de compétences des communes"/>
    </actes:Matiere1>
  </actes:Matieres>
</actes:RetourClassification>
"#
    );
    crate::latin1::encode_lossy(&text)
}
