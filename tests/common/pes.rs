//! Small PES_Aller documents for tests (TEST data, generated), valid against the DGFiP's PES V2
//! schema 5.12 that Paraphe ships (the outbox's door checks it).

pub const HEAD: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller" Id="F1">
<Enveloppe><Parametres><Version V="2"/><TypFic V="PESALR2"/><NomFic V="essai"/></Parametres><Emetteur><Sigle V="PARAPHE"/><Adresse V="ESSAI"/></Emetteur><Recepteur><Sigle V="HELIOS"/><Adresse V="DGFIP"/></Recepteur></Enveloppe>
<EnTetePES><DteStr V="2026-11-27"/><IdPost V="034000"/><IdColl V="21340172200016"/><CodCol V="123"/><CodBud V="12"/><LibelleColBud V="COMMUNE"/></EnTetePES>
<PES_DepenseAller><EnTeteDepense><IdVer V="2"/><InfoDematerialisee V="1"/></EnTeteDepense>
"#;

pub fn bordereau(id: &str, nbr: u32, amounts: &[&str]) -> String {
    let total: f64 = amounts
        .iter()
        .map(|a| a.parse::<f64>().expect("amount"))
        .sum();
    let mut s = format!(
        "<Bordereau Id=\"{id}\"><BlocBordereau><Exer V=\"2026\"/><IdBord V=\"7\"/><DteBordEm V=\"2026-11-27\"/><TypBord V=\"01\"/><NbrPce V=\"{nbr}\"/><MtBordHT V=\"{total:.2}\"/></BlocBordereau>"
    );
    for (i, a) in amounts.iter().enumerate() {
        s.push_str(&format!(
            "<Piece><BlocPiece><InfoPce><IdPce V=\"{n}\"/><TypPce V=\"01\"/><NatPce V=\"01\"/><Obj V=\"Fournitures é\"/></InfoPce></BlocPiece><LigneDePiece><BlocLignePiece><InfoLignePce><IdLigne V=\"1\"/><Nature V=\"6064\"/><Fonction V=\"020\"/><LibVir1 V=\"FOURNITURES\"/><ModRegl V=\"03\"/><TVAIntraCom V=\"0\"/><MtHT V=\"{a}\"/></InfoLignePce></BlocLignePiece><Tiers><InfoTiers><RefTiers V=\"1\"/><CatTiers V=\"01\"/><NatJur V=\"01\"/><Nom V=\"Papeterie &amp; Cie\"/></InfoTiers><Adresse><TypAdr V=\"1\"/><Adr2 V=\"1 RUE DES ESSAIS\"/><CP V=\"34000\"/><Ville V=\"MONTPELLIER\"/><CodRes V=\"0\"/></Adresse></Tiers></LigneDePiece></Piece>",
            n = i + 1
        ));
    }
    s.push_str("</Bordereau>");
    s
}

/// Text encoded in ISO-8859-1 (every character must be Latin-1).
pub fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 text"))
        .collect()
}

/// xmlsec1's integrity verdict for one signature of a PES, chosen by its Id (certificates not
/// checked: --insecure; Ids of `Bordereau` and `PES_Aller` registered).
pub fn xmlsec_integrity(file: &std::path::Path, signature_id: &str) -> bool {
    std::process::Command::new("xmlsec1")
        .args([
            "--verify",
            "--insecure",
            "--id-attr:Id",
            "Bordereau",
            "--id-attr:Id",
            "PES_Aller",
            "--node-xpath",
        ])
        .arg(format!(
            "//*[local-name()='Signature'][@Id='{signature_id}']"
        ))
        .arg(file)
        .output()
        .expect("xmlsec1")
        .status
        .success()
}
