//! Signing PES_Aller files: every signature Paraphe makes is checked by xmlsec1 (selecting each
//! signature by its Id, with the test PKI as trust anchors), the output is the input byte for
//! byte plus the inserted signatures, and failures leave nothing behind.

mod common;

use common::*;
use paraphe::card::pin::FixedPrompt;
use paraphe::card::pkcs11::Module;
use paraphe::card::software::SoftwareKey;
use paraphe::card::{CardError, Signer};
use paraphe::pes::sign::{Scope, SignError, SignRequest, sign_file};
use paraphe::pes::xades::{Profile, SignerDetails};
use std::path::{Path, PathBuf};
use std::process::Command;

fn details() -> SignerDetails {
    SignerDetails {
        role: "Ordonnateur délégué".to_owned(),
        city: "Saint-Étienne-du-Grès".to_owned(),
        postal_code: "13103".to_owned(),
        country: "France".to_owned(),
    }
}

fn request<'a>(
    input: &'a Path,
    output: &'a Path,
    scope: Scope,
    profile: Profile,
) -> SignRequest<'a> {
    SignRequest {
        input,
        output,
        scope,
        profile,
        details: details(),
        reviewed_sha256: None,
        expected: 0,
    }
}

fn p12_signer(name: &str) -> SoftwareKey {
    SoftwareKey::open(
        &TestPki::shared().identity(name).p12,
        &mut FixedPrompt::new(P12_PASSWORD),
    )
    .expect("p12")
}

/// xmlsec1 verifies the signature with this Id against the test PKI.
fn xmlsec_verifies(file: &Path, signature_id: &str) -> Result<(), String> {
    let pki = TestPki::shared();
    let out = Command::new("xmlsec1")
        .args([
            "--verify",
            "--id-attr:Id",
            "Bordereau",
            "--id-attr:Id",
            "PES_Aller",
        ])
        .arg("--trusted-pem")
        .arg(&pki.root.cert_pem)
        .arg("--untrusted-pem")
        .arg(&pki.intermediate.cert_pem)
        .arg("--node-xpath")
        .arg(format!(
            "//*[local-name()='Signature'][@Id='{signature_id}']"
        ))
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && text.contains("OK") {
        Ok(())
    } else {
        Err(text)
    }
}

/// The output minus every `ds:Signature` Paraphe inserted must be the input, byte for byte.
fn strip_inserted(output: &[u8], ids: &[String]) -> Vec<u8> {
    let mut out = output.to_vec();
    for id in ids {
        let start_marker = format!(
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"{id}_SIG_1\">"
        );
        let start = find(&out, start_marker.as_bytes())
            .unwrap_or_else(|| panic!("signature of {id} not found"));
        let end = find(&out[start..], b"</ds:Signature>").expect("end")
            + start
            + b"</ds:Signature>".len();
        out.drain(start..end);
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn conformance_dir() -> Option<PathBuf> {
    conformance("pes/samples")
}

#[test]
fn every_unsigned_conformance_sample_signs_and_verifies_with_xmlsec1() {
    let Some(dir) = conformance_dir() else { return };
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let mut signed_files = 0;
    for entry in std::fs::read_dir(&dir).expect("samples").flatten() {
        let input = entry.path();
        let Ok(summary) = paraphe::pes::inspect_file(&input) else {
            continue;
        };
        if summary.bordereaux.is_empty()
            || summary.bordereaux.iter().any(|b| b.signe || b.id.is_none())
        {
            continue;
        }
        for (scope, profile) in [
            (Scope::Bordereaux, Profile::Sha256),
            (Scope::Bordereaux, Profile::Sha1),
            (Scope::File, Profile::Sha256),
        ] {
            if scope == Scope::File && (summary.id.is_none() || !summary.signatures.is_empty()) {
                continue;
            }
            let output = tmp.path().join(format!("signed-{signed_files}.xml"));
            let mut key = p12_signer("signature");
            let report = sign_file(
                &request(&input, &output, scope, profile),
                &mut key,
                &mut |_| {},
                &|| false,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", input.display()));
            let expected_ids: Vec<String> = match scope {
                Scope::Bordereaux => summary
                    .bordereaux
                    .iter()
                    .filter_map(|b| b.id.clone())
                    .collect(),
                Scope::File => vec![summary.id.clone().expect("id")],
            };
            assert_eq!(report.signed, expected_ids);
            let bytes = std::fs::read(&output).expect("read");
            assert_eq!(
                strip_inserted(&bytes, &report.signed),
                std::fs::read(&input).expect("input"),
                "{}",
                input.display()
            );
            for id in &report.signed {
                xmlsec_verifies(&output, &format!("{id}_SIG_1"))
                    .unwrap_or_else(|e| panic!("{} {id} {profile:?}: {e}", input.display()));
            }
            signed_files += 1;
        }
    }
    assert!(
        signed_files >= 8,
        "only {signed_files} signed files: are the samples there?"
    );
}

/// A generated PES_Aller with `n` bordereaux (dépense and recette), Latin-1 accents, namespace
/// declarations on the way, comments and character references inside bordereaux.
fn generated(n: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<n:PES_Aller xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" Id=\"PESGEN\">\r\n <Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESALR2\"/><NomFic V=\"généré\"/></Parametres></Enveloppe>\n <EnTetePES><DteStr V=\"2026-11-27\"/><IdPost V=\"034000\"/><IdColl V=\"21340172200016\"/><CodCol V=\"123\"/></EnTetePES>\n",
    );
    for (domain, pieces) in [
        ("PES_DepenseAller", n.div_ceil(2)),
        ("PES_RecetteAller", n / 2),
    ] {
        if pieces == 0 {
            continue;
        }
        s.push_str(&format!("<{domain} xmlns:x=\"urn:exemple:x\"><EnTete{} ><IdVer V=\"2\"/><InfoDematerialisee V=\"1\"/></EnTete{}>\n", &domain[4..11], &domain[4..11]));
        for i in 0..pieces {
            s.push_str(&format!(
                "  <Bordereau Id=\"{domain}-B{i}\" x:marque=\"é{i}\">\n   <!-- commentaire -->\n   <BlocBordereau><Exer V=\"2026\"/><IdBord V=\"{i}\"/><DteBordEm V=\"2026-11-27\"/><TypBord V=\"01\"/><NbrPce V=\"1\"/><MtBordHT V=\"10.00\"/></BlocBordereau>\n   <Piece><BlocPiece><InfoPce><IdPce V=\"1\"/><Obj V=\"Réfection école &amp; mairie &#233;t&#xE9;\tx\"/></InfoPce></BlocPiece><LigneDePiece><BlocLignePiece><InfoLignePce><MtHT V=\"10.00\"/></InfoLignePce></BlocLignePiece></LigneDePiece></Piece>\r\n  </Bordereau  >\n"
            ));
        }
        s.push_str(&format!("</{domain}>\n"));
    }
    s.push_str("</n:PES_Aller>\n");
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
        .collect()
}

#[test]
fn generated_files_from_1_to_500_bordereaux_verify_with_xmlsec1() {
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    for n in [1usize, 2, 7, 500] {
        let input = tmp.path().join(format!("gen-{n}.xml"));
        std::fs::write(&input, generated(n)).expect("write");
        let output = tmp.path().join(format!("gen-{n}-signe.xml"));
        let mut key = p12_signer("signature");
        let mut seen = 0;
        let report = sign_file(
            &SignRequest {
                expected: n,
                ..request(&input, &output, Scope::Bordereaux, Profile::Sha256)
            },
            &mut key,
            &mut |p| seen = p.done,
            &|| false,
        )
        .expect("sign");
        assert_eq!(report.signed.len(), n);
        assert_eq!(seen, n);
        let bytes = std::fs::read(&output).expect("read");
        assert_eq!(
            strip_inserted(&bytes, &report.signed),
            std::fs::read(&input).expect("input")
        );
        for id in &report.signed {
            xmlsec_verifies(&output, &format!("{id}_SIG_1"))
                .unwrap_or_else(|e| panic!("{n} bordereaux, {id}: {e}"));
        }
        // Then a global signature over the bordereau signatures, as the policy allows.
        let global = tmp.path().join(format!("gen-{n}-global.xml"));
        let report = sign_file(
            &request(&output, &global, Scope::File, Profile::Sha256),
            &mut key,
            &mut |_| {},
            &|| false,
        )
        .expect("global");
        assert_eq!(report.signed, vec!["PESGEN".to_owned()]);
        xmlsec_verifies(&global, "PESGEN_SIG_1").expect("global signature");
        xmlsec_verifies(&global, &format!("{}_SIG_1", report_first(&bytes)))
            .expect("bordereau still valid");
    }
}

fn report_first(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let start = text.find("<Bordereau Id=\"").expect("bordereau") + "<Bordereau Id=\"".len();
    text[start..].split('"').next().expect("id").to_owned()
}

#[test]
fn ecdsa_key_signature_verifies_with_xmlsec1() {
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("in.xml");
    std::fs::write(&input, generated(3)).expect("write");
    let output = tmp.path().join("out.xml");
    let mut key = p12_signer("ecdsa-p256");
    let report = sign_file(
        &request(&input, &output, Scope::Bordereaux, Profile::Sha256),
        &mut key,
        &mut |_| {},
        &|| false,
    )
    .expect("sign");
    for id in &report.signed {
        xmlsec_verifies(&output, &format!("{id}_SIG_1")).expect("ecdsa");
    }
}

#[test]
fn card_signs_a_batch_with_one_login_and_a_pulled_card_leaves_nothing() {
    if !tools(&["xmlsec1", "openssl", "softhsm2-util", "pkcs11-tool"]) {
        return;
    }
    let hsm = SoftHsm::shared();
    let pki = TestPki::shared();
    let labels: Vec<String> = ["ok", "retrait"].iter().map(|p| unique_label(p)).collect();
    for label in &labels {
        hsm.create_token(label, USER_PIN).expect("token");
        hsm.import(label, USER_PIN, pki.identity("signature"))
            .expect("import");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("in.xml");
    std::fs::write(&input, generated(40)).expect("write");

    // Normal batch through the proxy, counting logins and signatures.
    let stats = tmp.path().join("stats.json");
    let so = proxy_copy(
        tmp.path(),
        "ok",
        &format!(
            "module = \"{}\"\nstats_file = \"{}\"\n",
            softhsm_module().display(),
            stats.display()
        ),
    );
    let module = Module::load(&so).expect("proxy");
    let token = module.token(Some(&labels[0])).expect("token");
    let prompt = FixedPrompt::new(USER_PIN);
    let mut key = module
        .open_key(&token, &pki.identity("signature").cka_id, Box::new(prompt))
        .expect("key");
    let output = tmp.path().join("out.xml");
    let (reviewed, _) = paraphe::hashing::file_sha256_and_size(&input).expect("hash");
    let report = sign_file(
        &SignRequest {
            reviewed_sha256: Some(reviewed.clone()),
            ..request(&input, &output, Scope::Bordereaux, Profile::Sha256)
        },
        &mut key,
        &mut |_| {},
        &|| false,
    )
    .expect("card signature");
    assert_eq!(report.signed.len(), 40);
    let s = proxy_stats(&stats);
    assert_eq!(stat(&s, "C_Login"), 1, "one PIN for the batch");
    assert_eq!(
        stat(&s, "C_SignInit"),
        40,
        "one card signature per bordereau"
    );
    for id in report.signed.iter().step_by(13) {
        xmlsec_verifies(&output, &format!("{id}_SIG_1")).expect("card signature verifies");
    }

    // A file changed since review is refused, nothing written.
    let changed_out = tmp.path().join("changed.xml");
    let mut changed = std::fs::read(&input).expect("read");
    let pos = find(&changed, b"V=\"10.00\"").expect("amount");
    changed[pos + 3] = b'9';
    let changed_in = tmp.path().join("changed-in.xml");
    std::fs::write(&changed_in, &changed).expect("write");
    let err = sign_file(
        &SignRequest {
            reviewed_sha256: Some(reviewed),
            ..request(
                &changed_in,
                &changed_out,
                Scope::Bordereaux,
                Profile::Sha256,
            )
        },
        &mut key,
        &mut |_| {},
        &|| false,
    )
    .expect_err("changed file");
    assert!(matches!(err, SignError::ChangedSinceReview), "{err:?}");
    assert!(!changed_out.exists());

    // The card is pulled out after 10 signatures: clean error, no output, no temporary file.
    let so = proxy_copy(
        tmp.path(),
        "retrait",
        &format!(
            "module = \"{}\"\nremove_after_ops = 10\n",
            softhsm_module().display()
        ),
    );
    let module = Module::load(&so).expect("proxy");
    let token = module.token(Some(&labels[1])).expect("token");
    let mut key = module
        .open_key(
            &token,
            &pki.identity("signature").cka_id,
            Box::new(FixedPrompt::new(USER_PIN)),
        )
        .expect("key");
    let out_dir = tempfile::tempdir().expect("tmp");
    let output = out_dir.path().join("out.xml");
    let err = sign_file(
        &request(&input, &output, Scope::Bordereaux, Profile::Sha256),
        &mut key,
        &mut |_| {},
        &|| false,
    )
    .expect_err("removed");
    assert!(
        matches!(err, SignError::Card(CardError::TokenRemoved)),
        "{err:?}"
    );
    assert!(err.to_string().contains("retirée"), "{err}");
    assert_eq!(
        std::fs::read_dir(out_dir.path()).expect("dir").count(),
        0,
        "nothing left behind"
    );

    // Cancelled before the first signature: nothing written either.
    let mut soft = p12_signer("signature");
    let err = sign_file(
        &request(&input, &output, Scope::Bordereaux, Profile::Sha256),
        &mut soft,
        &mut |_| {},
        &|| true,
    )
    .expect_err("cancelled");
    assert!(matches!(err, SignError::Cancelled));
    assert_eq!(std::fs::read_dir(out_dir.path()).expect("dir").count(), 0);
    let _ = soft.certificate_der();
}

/// `paraphe pes signer INPUT -o OUTPUT` with the test PKI's signature identity, its password
/// given on standard input, no settings file and `data` as the data folder.
fn cli_sign_with_p12(
    input: &Path,
    output: &Path,
    password: &str,
    data: &Path,
) -> std::process::Output {
    cli_sign_with_p12_and(input, output, password, data, &[])
}

/// [`cli_sign_with_p12`] with more options.
fn cli_sign_with_p12_and(
    input: &Path,
    output: &Path,
    password: &str,
    data: &Path,
    more: &[&str],
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    command
        .args(["pes", "signer"])
        .arg(input)
        .arg("-o")
        .arg(output)
        .args([
            "--role",
            "Ordonnateur",
            "--ville",
            "Montpellier",
            "--code-postal",
            "34000",
            "--pin-stdin",
            "--p12",
        ])
        .arg(&TestPki::shared().identity("signature").p12)
        .args(more)
        .env("PARAPHE_CONFIG", data.join("absent.toml"))
        .env("PARAPHE_DONNEES", data);
    spawn_with_input(command, password)
        .wait_with_output()
        .expect("wait")
}

#[test]
fn cli_signs_with_a_pkcs12_and_refuses_blocking_findings() {
    let Some(dir) = conformance_dir() else { return };
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let run =
        |input: &Path, output: &Path| cli_sign_with_p12(input, output, P12_PASSWORD, tmp.path());
    let output = tmp.path().join("signe.xml");
    let out = run(&dir.join("pes_aller_ok.xml"), &output);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    xmlsec_verifies(&output, "BORD1093357910_SIG_1").expect("cli signature");
    // Already signed: refused (no co-signature), exit 1, nothing written.
    let again = tmp.path().join("encore.xml");
    let out = run(&output, &again);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("déjà signé"));
    assert!(!again.exists());
    // A bordereau without Id stops the signing pass; the review still reads the whole file and
    // says which bordereau it is (a blocking finding, exit 1), and nothing is written.
    let original = std::fs::read(dir.join("pes_aller_ok.xml")).expect("sample");
    let at = original
        .windows(b"<Bordereau Id=".len())
        .position(|w| w == b"<Bordereau Id=")
        .expect("a bordereau with an Id");
    let mut without_id = original[..at + b"<Bordereau".len()].to_vec();
    without_id.extend_from_slice(b" Ref=");
    without_id.extend_from_slice(&original[at + b"<Bordereau Id=".len()..]);
    // Blank lines before the root's end tag: the file is several read chunks long, so the
    // review has to be fed past the point where signing stopped.
    let end = without_id
        .windows(2)
        .rposition(|w| w == b"</")
        .expect("root end tag");
    without_id.splice(end..end, std::iter::repeat_n(b'\n', 4 * 1024 * 1024));
    let input = tmp.path().join("sans-id.xml");
    std::fs::write(&input, &without_id).expect("write");
    let refused = tmp.path().join("sans-id-signe.xml");
    let out = run(&input, &refused);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("n'a pas d'attribut Id"), "{stderr}");
    assert!(!refused.exists());

    // A bordereau placed after the PJ section (which the signing pass copies without parsing):
    // the count of signatures differs from the review's, nothing is written.
    let misplaced = format!(
        "{}{}</PES_DepenseAller><PES_PJ><EnTetePES_PJ><IdVer V=\"1\"/></EnTetePES_PJ></PES_PJ>\
         <PES_RecetteAller><EnTeteRecette><IdVer V=\"2\"/></EnTeteRecette>{}</PES_RecetteAller></n:PES_Aller>\n",
        common::pes::HEAD,
        common::pes::bordereau("B1", 1, &["10.00"]),
        common::pes::bordereau("B2", 1, &["20.00"]),
    );
    let input = tmp.path().join("mal-place.xml");
    std::fs::write(&input, common::pes::latin1(&misplaced)).expect("write");
    let refused = tmp.path().join("mal-place-signe.xml");
    let out = run(&input, &refused);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("1 signature faite pour 2 bordereaux"),
        "{stderr}"
    );
    assert!(!refused.exists(), "{stderr}");
}

/// Who signs and where, and the profile, come from the settings' `[signature]` when the command
/// line does not give them; with neither, the command says what to give, and writes nothing.
#[test]
fn cli_takes_role_place_and_profile_from_the_settings() {
    let Some(dir) = conformance_dir() else { return };
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let run = |settings: &str, output: &Path| {
        let config = tmp.path().join("paraphe.toml");
        std::fs::write(&config, settings).expect("settings");
        let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
        command
            .args(["pes", "signer"])
            .arg(dir.join("pes_aller_ok.xml"))
            .arg("-o")
            .arg(output)
            .args(["--pin-stdin", "--p12"])
            .arg(&TestPki::shared().identity("signature").p12)
            .env("PARAPHE_CONFIG", &config)
            .env("PARAPHE_DONNEES", tmp.path());
        spawn_with_input(command, P12_PASSWORD)
            .wait_with_output()
            .expect("wait")
    };
    let missing = tmp.path().join("sans-role.xml");
    let out = run("", &missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[signature] role"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!missing.exists());

    let output = tmp.path().join("signe.xml");
    let out = run(
        "[signature]\nrole = \"Maire\"\nville = \"Sète\"\ncode_postal = \"34200\"\nprofil = \"sha1\"\n",
        &output,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    xmlsec_verifies(&output, "BORD1093357910_SIG_1").expect("signature from settings");
    let signed = String::from_utf8_lossy(&std::fs::read(&output).expect("read")).into_owned();
    assert!(signed.contains(">Maire<"), "ClaimedRole from the settings");
    assert!(signed.contains("34200"), "postal code from the settings");
    assert!(
        signed.contains("http://www.w3.org/2000/09/xmldsig#sha1"),
        "SHA-1 profile from the settings"
    );
}

/// With `--pin-stdin` the key is opened by the card's thread while the file is read: a wrong
/// password is still reported as such (not as a signer that stopped) — whether the card's thread
/// fails before or after the first bordereau is read (a small file, a file whose first bordereau
/// is long) —, exit 2, nothing written and no temporary file left; the right one signs.
#[test]
fn cli_with_the_pin_on_stdin_reports_a_wrong_password_and_writes_nothing() {
    let Some(dir) = conformance_dir() else { return };
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let out_dir = tmp.path().join("sortie");
    std::fs::create_dir(&out_dir).expect("dir");
    let amounts: Vec<String> = (0..20_000)
        .map(|i| format!("{}.{:02}", i % 900, i % 100))
        .collect();
    let amounts: Vec<&str> = amounts.iter().map(String::as_str).collect();
    let long = format!(
        "{}{}</PES_DepenseAller></n:PES_Aller>\n",
        common::pes::HEAD,
        common::pes::bordereau("LONG", amounts.len() as u32, &amounts),
    );
    let long_path = tmp.path().join("long.xml");
    std::fs::write(&long_path, common::pes::latin1(&long)).expect("write");
    let run = |input: &Path, password: &str, output: &Path| {
        cli_sign_with_p12(input, output, password, tmp.path())
    };
    for (input, id) in [
        (dir.join("pes_aller_ok.xml"), "BORD1093357910_SIG_1"),
        (long_path, "LONG_SIG_1"),
    ] {
        let refused = out_dir.join("refuse.xml");
        let out = run(&input, "pas-le-bon", &refused);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&paraphe::messages::t("logiciel.mot_de_passe_incorrect")),
            "{}: {stderr}",
            input.display()
        );
        assert_eq!(
            std::fs::read_dir(&out_dir).expect("dir").count(),
            0,
            "rien d'écrit, pas de fichier temporaire"
        );
        let signed = out_dir.join("signe.xml");
        let out = run(&input, P12_PASSWORD, &signed);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        xmlsec_verifies(&signed, id).expect("signature");
        std::fs::remove_file(&signed).expect("remove");
    }
}

/// The signed file may replace an older one (whose cached pages are dropped early, on a thread)
/// or the input itself: either way the result is the input plus its signature, which xmlsec1
/// verifies, and the older file is whole until the rename.
#[test]
fn cli_signs_over_an_existing_file_and_in_place() {
    let Some(dir) = conformance_dir() else { return };
    if !tools(&["xmlsec1", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let original = std::fs::read(dir.join("pes_aller_ok.xml")).expect("sample");
    let input = tmp.path().join("pes.xml");
    std::fs::write(&input, &original).expect("write");
    let output = tmp.path().join("signe.xml");
    let older = vec![b'x'; 3 << 20];
    std::fs::write(&output, &older).expect("write");
    let out = cli_sign_with_p12(&input, &output, P12_PASSWORD, tmp.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    xmlsec_verifies(&output, "BORD1093357910_SIG_1").expect("over an older file");
    let over = std::fs::read(&output).expect("read");

    // A wrong password leaves the older file as it was.
    let refused = cli_sign_with_p12(&input, &output, "pas-le-bon", tmp.path());
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read(&output).expect("read"), over);

    // In place only when asked for: -o naming the input (even through another path) is refused
    // otherwise, and the input is left alone.
    let same_through_dot = tmp.path().join(".").join("pes.xml");
    let refused = cli_sign_with_p12(&input, &same_through_dot, P12_PASSWORD, tmp.path());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--sur-place"), "{stderr}");
    assert_eq!(std::fs::read(&input).expect("read"), original);
    let out = cli_sign_with_p12_and(&input, &input, P12_PASSWORD, tmp.path(), &["--sur-place"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    xmlsec_verifies(&input, "BORD1093357910_SIG_1").expect("in place");
    let in_place = std::fs::read(&input).expect("read");
    assert!(in_place.len() > original.len());
    let inserted_at = in_place
        .windows(b"<ds:Signature".len())
        .position(|w| w == b"<ds:Signature")
        .expect("a signature");
    assert_eq!(in_place[..inserted_at], original[..inserted_at]);
    let end = in_place
        .windows(b"</ds:Signature>".len())
        .position(|w| w == b"</ds:Signature>")
        .expect("its end")
        + b"</ds:Signature>".len();
    assert_eq!(in_place[end..], original[inserted_at..]);
}

/// Canonicalisation happens on a thread of its own: what it refuses (here a namespace whose URI
/// is relative, in the second bordereau) still stops the signature with that reason, and nothing
/// is written.
#[test]
fn a_bordereau_that_cannot_be_canonicalised_stops_the_signature() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out_dir = tmp.path().join("sortie");
    std::fs::create_dir(&out_dir).expect("dir");
    let mut xml = common::pes::HEAD.to_owned();
    xml.push_str(&common::pes::bordereau("B1", 1, &["10.00"]));
    xml.push_str(&common::pes::bordereau("B2", 1, &["2.00"]).replacen(
        "<BlocBordereau>",
        "<BlocBordereau xmlns:r=\"relatif\">",
        1,
    ));
    xml.push_str("</PES_DepenseAller></n:PES_Aller>\n");
    let input = tmp.path().join("pes.xml");
    std::fs::write(&input, common::pes::latin1(&xml)).expect("write");
    let output = out_dir.join("signe.xml");
    let out = cli_sign_with_p12(&input, &output, P12_PASSWORD, tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("relatif"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&out_dir).expect("dir").count(),
        0,
        "rien d'écrit, pas de fichier temporaire"
    );
}

/// A PES whose PJ section spans several of the reading thread's chunks (1 MiB), with the
/// dépense bordereaux from `bordereaux`, then `pj`, raw, inside `PES_PJ`.
fn with_pj_section(bordereaux: &str, pj: &str) -> Vec<u8> {
    use base64::Engine as _;
    let content: Vec<u8> = (0..2_400_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&content);
    let mut xml = common::pes::HEAD.to_owned();
    xml.push_str(bordereaux);
    xml.push_str("</PES_DepenseAller>\n<PES_PJ>");
    for (i, text) in [encoded.as_str(), "pas du base64 !", &encoded[..1000]]
        .iter()
        .enumerate()
    {
        xml.push_str(&format!(
            "<PJ><Contenu><Fichier MIMEType=\"application/pdf\">{text}</Fichier></Contenu><IdUnique V=\"PJ{i}\"/><NomPJ V=\"pièce {i}.pdf\"/><TypePJ V=\"006\"/></PJ>\n"
        ));
    }
    xml.push_str(pj);
    xml.push_str("</PES_PJ>\n</n:PES_Aller>\n");
    common::pes::latin1(&xml)
}

/// What the review of `sign_with_review` found, and the signing's outcome.
fn review_alongside(
    input: &Path,
    scope: Scope,
) -> (
    Result<paraphe::pes::PesSummary, String>,
    Result<paraphe::pes::sign::PendingOutput, SignError>,
) {
    use paraphe::pes::sign::{KeySource, sign_with_review};
    let output = input.with_extension("signe.xml");
    let mut signer = p12_signer("signature");
    let request = request(input, &output, scope, Profile::Sha256);
    let (summary, signed) =
        sign_with_review(&request, KeySource::Open(&mut signer), &mut |_| {}, &|| {
            false
        });
    (summary.map_err(|e| e.to_string()), signed)
}

/// The summary of the file read on its own, as the review alongside the signature must find it.
fn read_alone(input: &Path) -> Result<String, String> {
    let file = std::io::BufReader::new(std::fs::File::open(input).expect("open"));
    paraphe::pes::read_summary(file)
        .map(|mut s| {
            // Set by the review of a whole file (S²LOW's rule on the first 50 bytes).
            s.iso_8859_1_declared_early = true;
            format!("{s:?}")
        })
        .map_err(|e| e.to_string())
}

#[test]
fn the_review_fed_by_the_signing_pass_is_the_summary_of_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("pes.xml");
    let two = [
        common::pes::bordereau("B1", 1, &["10.00"]),
        common::pes::bordereau("B2", 2, &["2.00", "3.50"]),
    ]
    .concat();
    // Signed per bordereau (the review is handed over at the PJ section, in the middle of a
    // chunk, and reads the PJ beside the copy) and as a whole (handed over at the end).
    std::fs::write(&input, with_pj_section(&two, "")).expect("write");
    let alone = read_alone(&input).expect("summary");
    assert!(alone.contains("taille: 2400000"), "{alone}");
    for scope in [Scope::Bordereaux, Scope::File] {
        let (summary, signed) = review_alongside(&input, scope);
        let signed = signed.expect("signed");
        assert_eq!(
            format!("{:?}", summary.expect("review")),
            alone,
            "{scope:?}"
        );
        let report = signed.commit().expect("commit");
        let expected = if scope == Scope::Bordereaux { 2 } else { 1 };
        assert_eq!(report.signed.len(), expected);
    }

    // Signing stops at a bordereau without Id: the review still reads to the end (the PJ after).
    let no_id = two.replacen("<Bordereau Id=\"B2\">", "<Bordereau>", 1);
    std::fs::write(&input, with_pj_section(&no_id, "")).expect("write");
    let (summary, signed) = review_alongside(&input, Scope::Bordereaux);
    assert!(matches!(signed, Err(SignError::MissingId)));
    let summary = format!("{:?}", summary.expect("review"));
    assert_eq!(summary, read_alone(&input).expect("summary"));
    assert!(summary.contains("PJ2"), "{summary}");

    // Malformed XML after the hand-over, and before it: the review's error is the one of a
    // reading of the file alone (same words, same position).
    for (bordereaux, pj) in [
        (two.as_str(), "<PJ><IdUnique V=\"PJ9\"/></PJX>"),
        (
            &two.replacen("</BlocBordereau>", "</BlocBordereauX>", 1),
            "",
        ),
        (&two.replacen("V=\"7\"", "V=\"7\" V=\"8\"", 1), ""),
    ] {
        std::fs::write(&input, with_pj_section(bordereaux, pj)).expect("write");
        let alone = read_alone(&input).expect_err("malformed");
        let (summary, signed) = review_alongside(&input, Scope::Bordereaux);
        assert_eq!(summary.expect_err("malformed"), alone);
        assert!(signed.is_err() || pj.contains("PJX"));
    }
}

/// Nothing reaches the card (no module call, no login: the proxy counts them) when the file is
/// not the one reviewed (`--empreinte`), or holds what the verifier would reject once signed:
/// content after the root, a NUL byte, an Id used twice, another root than PES_Aller. Nothing is
/// written either. The reviewed file, with its hash from `pes inspecter --json`, is signed with
/// one login.
#[test]
fn nothing_reaches_the_card_when_the_file_is_not_the_reviewed_one_or_not_signable() {
    if !tools(&["softhsm2-util", "pkcs11-tool"]) {
        return;
    }
    let hsm = SoftHsm::shared();
    let pki = TestPki::shared();
    let label = unique_label("avant-carte");
    hsm.create_token(&label, USER_PIN).expect("token");
    hsm.import(&label, USER_PIN, pki.identity("signature"))
        .expect("import");
    let tmp = tempfile::tempdir().expect("tmp");
    let good_text = common::forgeries::plain_pes_text();
    let good = tmp.path().join("pes.xml");
    std::fs::write(&good, common::pes::latin1(&good_text)).expect("write");
    let paraphe = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_paraphe"));
        command
            .env("PARAPHE_CONFIG", tmp.path().join("absent.toml"))
            .env("PARAPHE_DONNEES", tmp.path().join("donnees"))
            .envs(hsm.env());
        command
    };
    let inspected = paraphe()
        .args(["pes", "inspecter", "--json"])
        .arg(&good)
        .output()
        .expect("inspecter");
    let doc: serde_json::Value = serde_json::from_slice(&inspected.stdout).expect("json");
    let reviewed = doc["empreinte"].as_str().expect("empreinte").to_owned();
    // The hash given is that of the file, computed by another tool.
    let sha256sum = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(&good)
        .output()
        .expect("openssl");
    assert!(String::from_utf8_lossy(&sha256sum.stdout).starts_with(&reviewed));

    // Signs `input` through a fresh proxy; (exit code, stderr, logins, module calls).
    let sign = |case: &str, input: &Path, extra: &[&str]| {
        let stats = tmp.path().join(format!("{case}.json"));
        let so = proxy_copy(
            tmp.path(),
            case,
            &format!(
                "module = \"{}\"\nstats_file = \"{}\"\n",
                softhsm_module().display(),
                stats.display()
            ),
        );
        let output = tmp.path().join(format!("{case}-signe.xml"));
        let mut command = paraphe();
        command
            .args(["pes", "signer"])
            .arg(input)
            .arg("-o")
            .arg(&output)
            .args([
                "--role",
                "Maire",
                "--ville",
                "Arles",
                "--code-postal",
                "13200",
            ])
            .arg("--module")
            .arg(&so)
            .args(["--jeton", &label, "--pin-stdin"])
            .args(extra);
        let out = spawn_with_input(command, USER_PIN)
            .wait_with_output()
            .expect("sign");
        let s = proxy_stats(&stats);
        let calls: u64 = s
            .as_object()
            .map(|o| o.values().filter_map(serde_json::Value::as_u64).sum())
            .unwrap_or(0);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            stat(&s, "C_Login"),
            calls,
            output.exists(),
        )
    };

    // Not the reviewed file: the hash of another content.
    let other = hex::encode(openssl::sha::sha256(b"autre contenu"));
    let (code, stderr, logins, calls, written) = sign("empreinte", &good, &["--empreinte", &other]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&paraphe::messages::t("signature.fichier_modifie")),
        "{stderr}"
    );
    assert_eq!((logins, calls, written), (0, 0, false), "{stderr}");
    let (code, stderr, _, _, _) = sign("empreinte-illisible", &good, &["--empreinte", "zz"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("64 chiffres hexadécimaux"), "{stderr}");

    // Files the verifier would reject once signed.
    let write = |name: &str, bytes: Vec<u8>| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let mut trailing = common::pes::latin1(&good_text);
    trailing.extend_from_slice(b"<Autre/>\n");
    let mut nul = common::pes::latin1(&good_text);
    let at = nul
        .windows(11)
        .position(|w| w == b"Fournitures")
        .expect("text");
    nul[at + 3] = 0;
    let twice = common::pes::latin1(&good_text.replace("Id=\"B2\"", "Id=\"B1\""));
    let not_aller = common::pes::latin1(
        &good_text
            .replace("n:PES_Aller", "n:PES_Retour")
            .replace("Rev0/aller", "Rev0/retour"),
    );
    for (case, bytes, said) in [
        (
            "apres-racine",
            trailing,
            "après la fin de l'élément racine".to_owned(),
        ),
        ("octet-nul", nul, "octet nul".to_owned()),
        (
            "id-double",
            twice,
            paraphe::messages::tf("pes.id_duplique", &[("id", "B1")]),
        ),
        (
            "pas-un-pes-aller",
            not_aller,
            "n'est pas un PES_Aller".to_owned(),
        ),
    ] {
        let input = write(&format!("{case}.xml"), bytes);
        let (code, stderr, logins, calls, written) = sign(case, &input, &[]);
        assert_eq!(code, Some(2), "{case}: {stderr}");
        assert!(stderr.contains(&said), "{case}: {stderr}");
        assert!(
            stderr.contains("carte n'a pas été sollicitée"),
            "{case}: {stderr}"
        );
        assert_eq!((logins, calls, written), (0, 0, false), "{case}: {stderr}");
    }

    // The reviewed file with its hash: signed, one login.
    let (code, stderr, logins, _, written) = sign("relu", &good, &["--empreinte", &reviewed]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!((logins, written), (1, true), "{stderr}");
}
