//! Lots that are really tamper-evident (issue 20): the manifest is signed (CMS, detached) by the
//! exporting person's card or `.p12`; the importing workstation checks the signature over the
//! manifest and the signer against its trusted authorities. Every forgery is built here: a byte
//! changed inside with the manifest's hashes recomputed, an unsigned lot, a lot signed by a
//! certificate of another authority, a signature moved from another lot, files longer than
//! declared. `openssl cms -verify` checks the manifest's signature independently.

mod common;

use common::*;
use paraphe::card::software::SoftwareKey;
use paraphe::certs::trust::TrustStore;
use paraphe::outbox::lot::{ExportRequest, ImportPolicy, export, import};
use paraphe::outbox::{Filter, NewItem, Outbox};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn prepared(outbox: &mut Outbox, dir: &Path, numero: &str, content: &[u8]) -> i64 {
    let file = dir.join(format!("{numero}.pdf"));
    std::fs::write(&file, content).expect("write");
    outbox
        .add(NewItem {
            genre: paraphe::outbox::Kind::Acte,
            libelle: &format!("Délibération {numero}"),
            siren: Some("210100012"),
            numero_interne: Some(numero),
            donnees: serde_json::json!({ "objet": "Budget", "montant": "1200.00" }),
            fichiers: vec![("acte".into(), file)],
            qui: "secretaire",
        })
        .expect("add")
}

fn p12_key(pki: &TestPki) -> SoftwareKey {
    let p12 = &pki.identity("signature").p12;
    SoftwareKey::from_pkcs12(&std::fs::read(p12).expect("p12"), P12_PASSWORD, p12).expect("p12")
}

/// A lot of two acts prepared on workstation A, signed with `key` (or not).
fn lot_from_a(dir: &Path, key: Option<&mut SoftwareKey>) -> PathBuf {
    let mut a = Outbox::open(&dir.join("a/envois.sqlite")).expect("open");
    let ids = [
        prepared(
            &mut a,
            dir,
            "DEL12",
            b"%PDF-1.7 acte douze, montant 1200.00",
        ),
        prepared(&mut a, dir, "DEL13", b"%PDF-1.7 acte treize"),
    ];
    let lot = dir.join("lot.paraphe");
    let done = export(
        &mut a,
        &ExportRequest {
            nom: "Séance du 3 décembre",
            items: &ids,
            dest: &lot,
            prepare_par: "Camille Secrétaire",
        },
        key.map(|k| k as &mut dyn paraphe::keys::Signer),
    )
    .expect("export");
    assert_eq!(done.envois, 2);
    lot
}

fn trust() -> TrustStore {
    TrustStore::load(&TestPki::shared().ca_bundle_pem()).expect("trust")
}

/// The lot's entries, in order.
fn entries(lot: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(std::fs::File::open(lot).expect("lot"));
    archive
        .entries()
        .expect("entries")
        .map(|e| {
            let mut e = e.expect("entry");
            let name = e.path().expect("path").to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("read");
            (name, data)
        })
        .collect()
}

fn write_lot(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).expect("create"));
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        builder
            .append_data(&mut header, name, &data[..])
            .expect("append");
    }
    builder.finish().expect("finish");
}

fn sha256_hex(data: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

/// The forger's rewrite: `change` applied to a file, then the manifest's hash and size of that
/// file and `manifest.sha256` recomputed, the signature kept as it was.
fn forge(lot: &Path, out: &Path, change: impl Fn(&mut Vec<u8>)) {
    let mut all = entries(lot);
    let (name, data) = all
        .iter_mut()
        .find(|(n, _)| n.starts_with("fichiers/"))
        .expect("a file");
    let old_sha = sha256_hex(data);
    let old_len = data.len();
    change(data);
    let (name, new_sha, new_len) = (name.clone(), sha256_hex(data), data.len());
    let manifest = &mut all
        .iter_mut()
        .find(|(n, _)| n == "manifest.json")
        .expect("manifest")
        .1;
    let mut doc: serde_json::Value = serde_json::from_slice(manifest).expect("json");
    for item in doc["items"].as_array_mut().expect("items") {
        for f in item["fichiers"].as_array_mut().expect("files") {
            if f["nom"] == name.as_str() {
                assert_eq!(f["sha256"], old_sha.as_str());
                assert_eq!(f["taille"], old_len);
                f["sha256"] = new_sha.clone().into();
                f["taille"] = new_len.into();
            }
        }
    }
    *manifest = serde_json::to_vec_pretty(&doc).expect("json");
    let hash = sha256_hex(manifest);
    all.iter_mut()
        .find(|(n, _)| n == "manifest.sha256")
        .expect("hash")
        .1 = hash.into_bytes();
    write_lot(out, &all);
}

/// Workstation B imports `lot` (its work folder under `dir`) as `who`.
fn import_on_b(
    b: &mut Outbox,
    dir: &Path,
    lot: &Path,
    who: &str,
    trust: Option<&TrustStore>,
    accept_unsigned: bool,
) -> Result<paraphe::outbox::lot::ImportedLot, paraphe::outbox::OutboxError> {
    let policy = ImportPolicy {
        trust,
        accept_unsigned,
    };
    import(b, lot, &dir.join("b/lots"), who, &policy)
}

fn empty(outbox: &Outbox) -> bool {
    outbox.list(&Filter::default()).expect("list").is_empty()
}

#[test]
fn a_signed_lot_is_imported_with_its_preparer_and_signer_journalled() {
    if !tools(&["openssl", "tar"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let pki = TestPki::shared();
    let lot = lot_from_a(dir, Some(&mut p12_key(pki)));

    // Independently: openssl verifies the manifest's detached signature and its chain.
    let x = dir.join("extrait");
    std::fs::create_dir_all(&x).expect("mkdir");
    let untar = Command::new("tar")
        .arg("-xf")
        .arg(&lot)
        .arg("-C")
        .arg(&x)
        .status()
        .expect("tar");
    assert!(untar.success());
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(x.join("manifest.p7s"))
        .arg("-content")
        .arg(x.join("manifest.json"))
        .arg("-CAfile")
        .arg(pki.ca_bundle_pem())
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", show(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(x.join("manifest.json")).expect("read"))
            .expect("json");
    assert_eq!(manifest["prepare_par"], "Camille Secrétaire");

    let trust = trust();
    let mut b = Outbox::open(&dir.join("b/envois.sqlite")).expect("open");
    let done = import_on_b(&mut b, dir, &lot, "ordonnateur", Some(&trust), false).expect("import");
    assert_eq!(done.ids.len(), 2);
    assert!(done.origine.signe);
    let signer_cn = &pki.identity("signature").cn;
    assert_eq!(done.origine.signataire.as_deref(), Some(signer_cn.as_str()));
    assert_eq!(
        done.origine.prepare_par.as_deref(),
        Some("Camille Secrétaire")
    );
    assert_eq!(
        done.origine.prepare_le,
        manifest["cree_le"].as_str().expect("date")
    );
    let files = b.files(done.ids[0]).expect("files");
    assert_eq!(
        std::fs::read(&files[0].chemin).expect("read"),
        b"%PDF-1.7 acte douze, montant 1200.00"
    );
    let journal = b.journal(done.ids[0]).expect("journal");
    let line = journal
        .iter()
        .find(|j| j.evenement == "lot_importe")
        .expect("journalled");
    assert!(
        line.detail.contains("Camille Secrétaire"),
        "{}",
        line.detail
    );
    assert!(line.detail.contains(signer_cn.as_str()), "{}", line.detail);
    // Nothing of the lot is left behind in the work folder: the outbox owns its copies.
    let left: Vec<_> = std::fs::read_dir(dir.join("b/lots"))
        .expect("dir")
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_change_inside_a_signed_lot_is_refused_even_with_every_hash_recomputed() {
    if !tools(&["openssl", "sha256sum"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let lot = lot_from_a(dir, Some(&mut p12_key(TestPki::shared())));
    let trust = trust();
    let forged = dir.join("forge.paraphe");
    forge(&lot, &forged, |data| {
        let at = data.windows(7).position(|w| w == b"1200.00").unwrap_or(0);
        data[at] = b'9';
    });
    let mut b = Outbox::open(&dir.join("b/envois.sqlite")).expect("open");
    let err = import_on_b(&mut b, dir, &forged, "x", Some(&trust), false).expect_err("forged");
    assert!(err.to_string().contains("ne correspond pas"), "{err}");
    assert!(empty(&b), "a refused lot leaves the outbox unchanged");
    // Even accepting unsigned lots, a signed one that does not match is refused.
    assert!(import_on_b(&mut b, dir, &forged, "x", Some(&trust), true).is_err());
    // Removing the signature makes it an unsigned lot: refused as such.
    let mut all = entries(&forged);
    all.retain(|(n, _)| n != "manifest.p7s");
    write_lot(&forged, &all);
    let err = import_on_b(&mut b, dir, &forged, "x", Some(&trust), false).expect_err("unsigned");
    assert!(err.to_string().contains("n'est pas signé"), "{err}");
    assert!(empty(&b));

    // A signature taken from another genuine lot does not vouch for this one.
    let other_dir = dir.join("autre");
    std::fs::create_dir_all(&other_dir).expect("mkdir");
    let other = lot_from_a(&other_dir, Some(&mut p12_key(TestPki::shared())));
    let mut mixed = entries(&lot);
    let foreign = entries(&other)
        .into_iter()
        .find(|(n, _)| n == "manifest.p7s")
        .expect("p7s");
    for e in mixed.iter_mut().filter(|(n, _)| n == "manifest.p7s") {
        *e = foreign.clone();
    }
    write_lot(&forged, &mixed);
    let err =
        import_on_b(&mut b, dir, &forged, "x", Some(&trust), false).expect_err("moved signature");
    assert!(err.to_string().contains("ne correspond pas"), "{err}");
    assert!(empty(&b));
}

#[test]
fn an_unsigned_lot_is_refused_unless_the_risk_is_accepted_and_journalled() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let lot = lot_from_a(dir, None);
    assert!(!entries(&lot).iter().any(|(n, _)| n == "manifest.p7s"));
    let trust = trust();
    let mut b = Outbox::open(&dir.join("b/envois.sqlite")).expect("open");
    let err = import_on_b(&mut b, dir, &lot, "x", Some(&trust), false).expect_err("unsigned");
    assert!(err.to_string().contains("n'est pas signé"), "{err}");
    assert!(empty(&b));
    let done = import_on_b(&mut b, dir, &lot, "Dominique", Some(&trust), true).expect("accepted");
    assert!(!done.origine.signe);
    assert_eq!(done.origine.signataire, None);
    let journal = b.journal(done.ids[1]).expect("journal");
    let line = journal
        .iter()
        .find(|j| j.evenement == "lot_importe")
        .expect("journalled");
    assert!(line.detail.contains("NON SIGNÉ"), "{}", line.detail);
    assert!(line.detail.contains("Dominique"), "{}", line.detail);
}

#[test]
fn a_lot_signed_outside_the_trusted_authorities_or_without_any_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Another authority, unknown to the importing workstation, with a valid-looking identity.
    let stranger = TestPki::generate(&dir.join("autre-ac")).expect("pki");
    let lot = lot_from_a(dir, Some(&mut p12_key(&stranger)));
    let trust = trust();
    let mut b = Outbox::open(&dir.join("b/envois.sqlite")).expect("open");
    let err = import_on_b(&mut b, dir, &lot, "x", Some(&trust), true).expect_err("untrusted");
    assert!(err.to_string().contains("autorité de confiance"), "{err}");
    assert!(empty(&b));
    // No trusted authorities configured: a signed lot cannot be judged, so it is refused.
    let err = import_on_b(&mut b, dir, &lot, "x", None, true).expect_err("no trust store");
    assert!(err.to_string().contains("--confiance"), "{err}");
    assert!(empty(&b));
}

#[test]
fn a_file_longer_than_declared_or_undeclared_is_refused_before_it_is_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let lot = lot_from_a(dir, Some(&mut p12_key(TestPki::shared())));
    let trust = trust();
    let mut b = Outbox::open(&dir.join("b/envois.sqlite")).expect("open");
    let forged = dir.join("forge.paraphe");

    // 64 MiB of zeros where a few bytes are declared: refused after the declared size.
    let mut all = entries(&lot);
    for (n, data) in all.iter_mut() {
        if n.starts_with("fichiers/") {
            *data = vec![0u8; 64 << 20];
            break;
        }
    }
    write_lot(&forged, &all);
    let err = import_on_b(&mut b, dir, &forged, "x", Some(&trust), false).expect_err("longer");
    assert!(err.to_string().contains("modifié ou abîmé"), "{err}");

    // A file the manifest does not declare, and a file before the manifest.
    let mut all = entries(&lot);
    all.insert(
        2,
        ("fichiers/9-9-intrus.pdf".into(), b"%PDF intrus".to_vec()),
    );
    write_lot(&forged, &all);
    assert!(import_on_b(&mut b, dir, &forged, "x", Some(&trust), false).is_err());
    let mut all = entries(&lot);
    all.swap(0, 1);
    write_lot(&forged, &all);
    assert!(import_on_b(&mut b, dir, &forged, "x", Some(&trust), false).is_err());
    assert!(empty(&b));
}

fn run(data: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paraphe"));
    c.args(args)
        .env("PARAPHE_DONNEES", data)
        .env("PARAPHE_CONFIG", data.join("absent.toml"));
    for (k, v) in SoftHsm::shared().env() {
        c.env(k, v);
    }
    match stdin {
        Some(input) => spawn_with_input(c, input).wait_with_output().expect("run"),
        None => c.output().expect("run"),
    }
}

#[test]
fn command_line_exports_with_a_card_and_imports_with_the_trusted_authorities() {
    if !tools(&["softhsm2-util", "pkcs11-tool", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let pki = TestPki::shared();
    let hsm = SoftHsm::shared();
    let label = unique_label("lot");
    hsm.create_token(&label, USER_PIN).expect("token");
    hsm.import(&label, USER_PIN, pki.identity("authentification"))
        .expect("import");
    let (poste_a, poste_b) = (dir.join("a"), dir.join("b"));
    let id = {
        let mut a = Outbox::open(&poste_a.join("envois.sqlite")).expect("open");
        prepared(&mut a, dir, "DEL20", b"%PDF-1.7 acte vingt")
    };
    let lot = dir.join("lot.paraphe");
    let module = softhsm_module();
    let out = run(
        &poste_a,
        &[
            "envois",
            "exporter",
            &id.to_string(),
            "-o",
            &lot.to_string_lossy(),
            "--nom",
            "Séance",
            "--authentification",
            "--module",
            &module.to_string_lossy(),
            "--jeton",
            &label,
            "--pin-stdin",
            "--json",
        ],
        Some(USER_PIN),
    );
    assert!(out.status.success(), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let cn = &pki.identity("authentification").cn;
    assert_eq!(doc["signataire"], cn.as_str());

    // Without the authorities: refused, exit 1, nothing imported.
    let out = run(
        &poste_b,
        &["envois", "importer", &lot.to_string_lossy()],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--confiance"));
    let bundle = pki.ca_bundle_pem();
    let out = run(
        &poste_b,
        &[
            "envois",
            "importer",
            &lot.to_string_lossy(),
            "--confiance",
            &bundle.to_string_lossy(),
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["signataire"], cn.as_str());
    assert!(
        doc["prepare_le"]
            .as_str()
            .is_some_and(|s| s.starts_with("20"))
    );
    assert_eq!(doc["importes"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["importes"][0]["etat"], "prepare");
    assert!(doc["importes"][0]["id"].as_i64().is_some());

    // An unsigned export: refused on import, then accepted with --accepter-non-signe.
    let unsigned = dir.join("non-signe.paraphe");
    let out = run(
        &poste_a,
        &[
            "envois",
            "exporter",
            &id.to_string(),
            "-o",
            &unsigned.to_string_lossy(),
            "--sans-signature",
        ],
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("n'est pas signé"));
    let poste_c = dir.join("c");
    let args = ["envois", "importer", &unsigned.to_string_lossy()];
    let out = run(&poste_c, &args, None);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("n'est pas signé"), "{said}");
    assert!(
        said.contains("--accepter-non-signe"),
        "the way out is said: {said}"
    );
    let out = run(
        &poste_c,
        &[&args[..], &["--accepter-non-signe"]].concat(),
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("NON SIGNÉ")
            || String::from_utf8_lossy(&out.stdout).contains("pas prouvées")
    );
}
