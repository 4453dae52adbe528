//! Forged PES files (TEST data), built from files that Paraphe signed with the test card (a SoftHSM
//! token holding a key of the test PKI, through PKCS#11): what an attacker would make so that a changed or unsigned bordereau passes for signed, or so that an
//! unsigned claim (a date, a role) is taken for a signed one.

use super::pes::{HEAD, bordereau, latin1};
use paraphe::card::Signer;
use paraphe::card::pin::FixedPrompt;
use paraphe::card::pkcs11::Module;
use paraphe::card::software::SoftwareKey;
use paraphe::pes::sign::{Scope, SignRequest, sign_file};
use paraphe::pes::xades::{Profile, SignerDetails};
use pkcs11_mocks::{
    P12_PASSWORD, SoftHsm, TestPki, USER_PIN, softhsm_module, tool_required, unique_label,
};
use std::path::{Path, PathBuf};

/// The XAdES namespace Paraphe writes.
const XAD: &str = "http://uri.etsi.org/01903/v1.2.2#";

/// Signs `input` into `output` with the test identity `identity` (a PKCS#12), role « Maire ».
pub fn sign_with_p12(input: &Path, output: &Path, identity: &str, scope: Scope) {
    let mut key = SoftwareKey::open(
        &TestPki::shared().identity(identity).p12,
        &mut FixedPrompt::new(P12_PASSWORD),
    )
    .expect("p12");
    sign_with(input, output, scope, &mut key);
}

/// The tools the card needs: SoftHSM's module and its token utility (fails in CI when missing,
/// skips loudly elsewhere).
pub fn card_available() -> bool {
    ["softhsm2-util", "pkcs11-tool"]
        .iter()
        .all(|t| tool_required(t))
}

/// Signs `input` into `output` with the test identity `identity` on a fresh SoftHSM token — a
/// real PKCS#11 module, as an ordonnateur's card — role « Maire ».
pub fn sign_with_card(input: &Path, output: &Path, identity: &str, scope: Scope) {
    // One card at a time in this process: a module reading the token folder while another test
    // thread creates a token there fails (SoftHSM's C_GetTokenInfo answers GeneralError).
    static ONE_CARD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_card = ONE_CARD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let hsm = SoftHsm::shared();
    let pki = TestPki::shared();
    let label = unique_label("forge");
    hsm.create_token(&label, USER_PIN).expect("token");
    hsm.import(&label, USER_PIN, pki.identity(identity))
        .expect("import");
    // A private copy of the module: a SoftHSM already initialised in this process (by an earlier
    // call) does not see tokens created after it; the copy is a fresh instance that does.
    let dir = output.parent().expect("output folder");
    let copy = dir.join(format!("softhsm-{label}.so"));
    std::fs::copy(softhsm_module(), &copy).expect("module copy");
    let module = Module::load(&copy).expect("softhsm module");
    let token = module.token(Some(&label)).expect("token");
    let mut key = module
        .open_key(
            &token,
            &pki.identity(identity).cka_id,
            Box::new(FixedPrompt::new(USER_PIN)),
        )
        .expect("card key");
    sign_with(input, output, scope, &mut key);
}

fn sign_with(input: &Path, output: &Path, scope: Scope, key: &mut dyn Signer) {
    let request = SignRequest {
        input,
        output,
        scope,
        profile: Profile::Sha256,
        details: SignerDetails {
            role: "Maire".into(),
            city: "Arles".into(),
            postal_code: "13200".into(),
            country: "France".into(),
        },
        reviewed_sha256: None,
        expected: 0,
    };
    sign_file(&request, key, &mut |_| {}, &|| false).expect("sign");
}

/// The plain PES the forgeries start from: bordereaux B1 (10.00) and B2 (1.50 + 2.50), then a
/// PES_PJ with one PJ.
pub fn plain_pes_text() -> String {
    let mut xml = HEAD.to_owned();
    xml.push_str(&bordereau("B1", 1, &["10.00"]));
    xml.push('\n');
    xml.push_str(&bordereau("B2", 2, &["1.50", "2.50"]));
    xml.push_str("\n</PES_DepenseAller>\n");
    xml.push_str("<PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ><PJ><Contenu><Fichier MIMEType=\"application/pdf\">QUJD</Fichier></Contenu><IdUnique V=\"PJ1\"/><NomPJ V=\"pj1.pdf\"/><TypePJ V=\"006\"/><Description V=\"Facture\"/></PJ></PES_PJ>\n");
    xml.push_str("</n:PES_Aller>\n");
    xml
}

/// The plain PES signed in `dir` (per bordereau or globally) by `identity` on the test card; the
/// file's path.
pub fn signed_pes(dir: &Path, identity: &str, scope: Scope) -> PathBuf {
    let tag = match scope {
        Scope::Bordereaux => "bordereaux",
        Scope::File => "global",
    };
    let plain = dir.join(format!("clair-{identity}-{tag}.xml"));
    std::fs::write(&plain, latin1(&plain_pes_text())).expect("write");
    let signed = dir.join(format!("signe-{identity}-{tag}.xml"));
    sign_with_card(&plain, &signed, identity, scope);
    signed
}

/// A file's bytes as text, one character per byte (the PES is ISO-8859-1).
pub fn as_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// The range of the first `start…end` (both included) at or after `from`.
fn span(s: &str, from: usize, start: &str, end: &str) -> std::ops::Range<usize> {
    let a = from + s[from..].find(start).unwrap_or_else(|| panic!("{start}"));
    let b = a + s[a..].find(end).unwrap_or_else(|| panic!("{end}")) + end.len();
    a..b
}

/// A bordereau's element, its signature included.
fn bordereau_span(s: &str, id: &str) -> std::ops::Range<usize> {
    span(s, 0, &format!("<Bordereau Id=\"{id}\">"), "</Bordereau>")
}

/// The first signature inside `within`.
fn signature_span(s: &str, within: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    let r = span(s, within.start, "<ds:Signature", "</ds:Signature>");
    assert!(r.end <= within.end, "signature outside");
    r
}

/// B1 with its signature taken out and 10.00 changed into 99.00: the forged copy.
fn forged_b1(s: &str) -> String {
    let b1 = bordereau_span(s, "B1");
    let sig = signature_span(s, &b1);
    let mut copy = s[b1.start..sig.start].to_owned();
    copy.push_str(&s[sig.end..b1.end]);
    copy.replace("V=\"10.00\"", "V=\"99.00\"")
}

fn insert(s: &str, at: usize, what: &str) -> String {
    format!("{}{}{}", &s[..at], what, &s[at..])
}

fn replace_range(s: &str, r: std::ops::Range<usize>, what: &str) -> String {
    format!("{}{}{}", &s[..r.start], what, &s[r.end..])
}

/// Where `pattern` starts (the first one after `from`).
fn at(s: &str, from: usize, pattern: &str) -> usize {
    from + s[from..]
        .find(pattern)
        .unwrap_or_else(|| panic!("{pattern}"))
}

/// One forged file.
pub struct Forgery {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Not a forgery that changes anything signed: the file stays valid, and what was added
    /// must not change the date or the role.
    pub still_valid: bool,
}

/// Every forgery, from a PES signed per bordereau (`signed`), the same signed globally
/// (`global`), and the same signed per bordereau with an expired certificate (`expired`), all
/// by Paraphe (see [`signed_pes`]).
pub fn all(signed: &[u8], global: &[u8], expired: &[u8]) -> Vec<Forgery> {
    let s = as_text(signed);
    let g = as_text(global);
    let e = as_text(expired);
    let b1 = bordereau_span(&s, "B1");
    let b2 = bordereau_span(&s, "B2");
    let sig1 = signature_span(&s, &b1);
    let sig2 = signature_span(&s, &b2);
    let original_b1 = s[b1.clone()].to_owned();
    let forged = forged_b1(&s);
    let mut out: Vec<(&'static str, String, bool)> = Vec::new();

    // The signed original moved away, a forged copy with the same Id in its place.
    let without = replace_range(&s, b1.clone(), &forged);
    let after_b2 = at(&without, 0, "</PES_DepenseAller>");
    out.push((
        "original_moved_into_an_unknown_element",
        insert(&without, after_b2, &format!("<Cache>{original_b1}</Cache>")),
        false,
    ));
    let end_of_envelope = at(&without, 0, "</Enveloppe>");
    out.push((
        "original_moved_into_enveloppe",
        insert(&without, end_of_envelope, &original_b1),
        false,
    ));
    let forged_open = "<Bordereau Id=\"B1\">";
    let nested = format!(
        "{forged_open}{}{}",
        &forged[forged_open.len()..forged.len() - "</Bordereau>".len()],
        format_args!("{original_b1}</Bordereau>")
    );
    out.push((
        "original_nested_in_a_forged_copy",
        replace_range(&s, b1.clone(), &nested),
        false,
    ));
    // The forged copy beside the signed original.
    out.push((
        "forged_copy_beside_the_original",
        insert(&s, b1.start, &forged),
        false,
    ));
    // A bordereau added, with no signature.
    let b3 = bordereau("B3", 1, &["5000.00"]);
    out.push(("unsigned_bordereau_added", insert(&s, b2.end, &b3), false));
    // A second SignedProperties with the same Id, in another ds:Object, before the real one.
    let sp = span(
        &s,
        sig1.start,
        "<xad:SignedProperties",
        "</xad:SignedProperties>",
    );
    let other_sp = s[sp].to_owned();
    let other_time = span(&other_sp, 0, "<xad:SigningTime>", "</xad:SigningTime>");
    let other_sp = replace_range(
        &other_sp,
        other_time,
        "<xad:SigningTime>2001-01-01T00:00:00Z</xad:SigningTime>",
    );
    let object = at(&s, sig1.start, "<ds:Object>");
    out.push((
        "second_signed_properties_with_the_same_id",
        insert(
            &s,
            object,
            &format!(
                "<ds:Object><xad:QualifyingProperties xmlns:xad=\"{XAD}\" Target=\"#B1_SIG_1\">{other_sp}</xad:QualifyingProperties></ds:Object>"
            ),
        ),
        false,
    ));
    // Claims outside the signed properties: reported, never used.
    let unsigned_time = |text: &str, time: &str| -> String {
        let b = bordereau_span(text, "B1");
        let sig = signature_span(text, &b);
        let end_sp =
            at(text, sig.start, "</xad:SignedProperties>") + "</xad:SignedProperties>".len();
        insert(
            text,
            end_sp,
            &format!(
                "<xad:UnsignedProperties><xad:UnsignedSignatureProperties><xad:SigningTime>{time}</xad:SigningTime></xad:UnsignedSignatureProperties></xad:UnsignedProperties>"
            ),
        )
    };
    out.push((
        "signing_time_in_unsigned_properties",
        unsigned_time(&s, "2001-01-01T00:00:00Z"),
        true,
    ));
    let end_object = at(&s, sig1.start, "</ds:Object>") + "</ds:Object>".len();
    out.push((
        "claimed_role_in_another_object",
        insert(
            &s,
            end_object,
            &format!("<ds:Object><xad:SignerRole xmlns:xad=\"{XAD}\"><xad:ClaimedRoles><xad:ClaimedRole>Préfet</xad:ClaimedRole></xad:ClaimedRoles></xad:SignerRole></ds:Object>"),
        ),
        true,
    ));
    // An expired certificate made to look valid with an earlier, unsigned date (inside its
    // validity: it ran from 740 to 10 days ago).
    let earlier = time::OffsetDateTime::now_utc() - time::Duration::days(100);
    let earlier = format!(
        "{:04}-{:02}-{:02}T10:00:00Z",
        earlier.year(),
        u8::from(earlier.month()),
        earlier.day()
    );
    out.push((
        "expired_certificate_with_an_earlier_unsigned_date",
        unsigned_time(&e, &earlier),
        false,
    ));
    // The classic ones.
    out.push((
        "amount_changed",
        replace_range(
            &s,
            b1.clone(),
            &original_b1.replace("V=\"10.00\"", "V=\"99.00\""),
        ),
        false,
    ));
    out.push((
        "signature_copied_over_another",
        replace_range(&s, sig2.clone(), &s[sig1.clone()]),
        false,
    ));
    let moved = insert(&s, sig2.end, &s[sig1.clone()]);
    out.push((
        "signature_moved_to_another_bordereau",
        replace_range(&moved, sig1.clone(), ""),
        false,
    ));
    let time = span(&s, sig1.start, "<xad:SigningTime>", "</xad:SigningTime>");
    out.push((
        "signing_time_edited",
        replace_range(
            &s,
            time,
            "<xad:SigningTime>2001-01-01T00:00:00Z</xad:SigningTime>",
        ),
        false,
    ));
    let cert = span(
        &s,
        sig1.start,
        "<ds:X509Certificate>",
        "</ds:X509Certificate>",
    );
    let other_cert =
        std::fs::read(&TestPki::shared().identity("authentification").cert_der).expect("cert");
    out.push((
        "certificate_swapped",
        replace_range(
            &s,
            cert,
            &format!(
                "<ds:X509Certificate>{}</ds:X509Certificate>",
                openssl::base64::encode_block(&other_cert)
            ),
        ),
        false,
    ));
    let key_info = span(&s, sig1.start, "<ds:KeyInfo>", "</ds:KeyInfo>");
    out.push((
        "certificate_removed",
        replace_range(&s, key_info, ""),
        false,
    ));
    // Signed globally.
    let gb2 = bordereau_span(&g, "B2");
    out.push((
        "global_then_bordereau_added",
        insert(&g, gb2.end, &b3),
        false,
    ));
    let root_sig = span(&g, 0, "<ds:Signature", "</ds:Signature>");
    let without_sig = replace_range(&g, root_sig.clone(), "");
    let gb1 = bordereau_span(&without_sig, "B1");
    let inside_b1 = gb1.end - "</Bordereau>".len();
    out.push((
        "global_signature_moved_into_a_bordereau",
        insert(&without_sig, inside_b1, &g[root_sig]),
        false,
    ));
    out.into_iter()
        .map(|(name, text, still_valid)| Forgery {
            name,
            bytes: latin1(&text),
            still_valid,
        })
        .collect()
}
