//! TEST-ONLY PKI: a root CA, an intermediate CA and leaf identities, all
//! generated at test time with the `openssl` command line. Never trust any
//! of it; never commit what it writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::MockError;
use crate::util::{
    asn1_time, create_dir_all, now_secs, os, process_temp_dir, run, tool, write_file,
};

/// Password of every PKCS#12 file of the test PKI.
pub const P12_PASSWORD: &str = "test-only-p12";

/// Names of the leaf identities that [`TestPki::generate`] builds.
pub const LEAF_NAMES: [&str; 10] = [
    "signature",
    "authentification",
    "chiffrement",
    "expire",
    "pas-encore-valide",
    "bientot-expire",
    "mauvais-usage",
    "ecdsa-p256",
    "double-usage",
    "qualifie",
];

const ORG: &str = "Paraphe TEST ONLY";
const ROOT_CN: &str = "Paraphe TEST ONLY AC racine";
const INTERMEDIATE_CN: &str = "Paraphe TEST ONLY AC intermédiaire";
const CONFIG: &str = include_str!("openssl.cnf");

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Key algorithm of an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Rsa2048,
    EcP256,
}

/// One key pair and its certificate, in every format the tests need.
/// TEST ONLY.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Short name, e.g. `"signature"`; also the CKA_LABEL on tokens and the
    /// PKCS#12 friendly name.
    pub name: String,
    /// Subject common name, e.g. `"Camille Test – signature"`.
    pub cn: String,
    pub cert_pem: PathBuf,
    pub cert_der: PathBuf,
    /// PKCS#8 PEM, unencrypted.
    pub key_pem: PathBuf,
    /// PKCS#8 DER, unencrypted.
    pub key_der: PathBuf,
    /// SubjectPublicKeyInfo PEM.
    pub pubkey_pem: PathBuf,
    /// SubjectPublicKeyInfo DER.
    pub pubkey_der: PathBuf,
    /// PKCS#12 (key + cert + chain), password [`P12_PASSWORD`], OpenSSL 3
    /// default encryption (PBES2/PBKDF2/AES-256-CBC, SHA-256 MAC).
    pub p12: PathBuf,
    /// Same content, `-legacy` encryption (3DES / RC2-40, SHA-1 MAC).
    pub p12_legacy: PathBuf,
    /// Issuer chain: intermediate then root (root only for the
    /// intermediate; the root itself for the root).
    pub chain_pem: PathBuf,
    /// CKA_ID to use on tokens, distinct per identity.
    pub cka_id: Vec<u8>,
    pub key_kind: KeyKind,
}

impl Identity {
    /// CKA_ID in lowercase hex, as `pkcs11-tool --id` wants it.
    pub fn cka_id_hex(&self) -> String {
        self.cka_id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The generated TEST-ONLY PKI.
#[derive(Debug)]
pub struct TestPki {
    pub dir: PathBuf,
    pub root: Identity,
    pub intermediate: Identity,
    identities: BTreeMap<String, Identity>,
}

#[derive(Clone, Copy)]
enum Issuer {
    SelfSigned,
    Root,
    Intermediate,
}

struct Spec {
    name: &'static str,
    cn: &'static str,
    kind: KeyKind,
    ext: &'static str,
    /// notBefore and notAfter, seconds relative to now.
    not_before: i64,
    not_after: i64,
    cka_id: u8,
    issuer: Issuer,
}

fn specs() -> Vec<Spec> {
    use KeyKind::*;
    let leaf = |name, cn, kind, ext, not_before, not_after, cka_id| Spec {
        name,
        cn,
        kind,
        ext,
        not_before,
        not_after,
        cka_id,
        issuer: Issuer::Intermediate,
    };
    // Normal leaves: valid from one hour ago (clock skew) for two years.
    let (nb, na) = (-HOUR, 730 * DAY);
    vec![
        Spec {
            name: "root",
            cn: ROOT_CN,
            kind: Rsa2048,
            ext: "ext_root",
            not_before: -3 * 365 * DAY,
            not_after: 15 * 365 * DAY,
            cka_id: 0xf0,
            issuer: Issuer::SelfSigned,
        },
        Spec {
            name: "intermediate",
            cn: INTERMEDIATE_CN,
            kind: Rsa2048,
            ext: "ext_intermediate",
            not_before: -3 * 365 * DAY + HOUR,
            not_after: 10 * 365 * DAY,
            cka_id: 0xf1,
            issuer: Issuer::Root,
        },
        leaf(
            "signature",
            "Camille Test – signature",
            Rsa2048,
            "ext_signature",
            nb,
            na,
            0x01,
        ),
        leaf(
            "authentification",
            "Camille Test – authentification",
            Rsa2048,
            "ext_authentification",
            nb,
            na,
            0x02,
        ),
        leaf(
            "chiffrement",
            "Camille Test – chiffrement",
            Rsa2048,
            "ext_chiffrement",
            nb,
            na,
            0x03,
        ),
        // Expired ten days ago, after two years of validity.
        leaf(
            "expire",
            "Camille Test – expiré",
            Rsa2048,
            "ext_signature",
            -740 * DAY,
            -10 * DAY,
            0x04,
        ),
        // Valid in one year only.
        leaf(
            "pas-encore-valide",
            "Camille Test – pas encore valide",
            Rsa2048,
            "ext_signature",
            365 * DAY,
            (365 + 730) * DAY,
            0x05,
        ),
        // Valid, expires in 30 days (inside the 60-day warning window).
        leaf(
            "bientot-expire",
            "Camille Test – bientôt expiré",
            Rsa2048,
            "ext_signature",
            -700 * DAY,
            30 * DAY,
            0x06,
        ),
        leaf(
            "mauvais-usage",
            "Camille Test – mauvais usage",
            Rsa2048,
            "ext_mauvais_usage",
            nb,
            na,
            0x07,
        ),
        leaf(
            "ecdsa-p256",
            "Camille Test – ECDSA P-256",
            EcP256,
            "ext_ecdsa",
            nb,
            na,
            0x08,
        ),
        leaf(
            "double-usage",
            "Camille Test – double usage",
            Rsa2048,
            "ext_double_usage",
            nb,
            na,
            0x09,
        ),
        leaf(
            "qualifie",
            "Camille Test – qualifié",
            Rsa2048,
            "ext_qualifie",
            nb,
            na,
            0x0a,
        ),
    ]
}

impl TestPki {
    /// Builds the whole TEST-ONLY PKI under `dir` (created if needed):
    /// `dir/<name>/{key,cert,pub}.{pem,der}`, `chain.pem`, `<name>.p12`,
    /// `<name>-legacy.p12`, plus `dir/ca-bundle.pem` and the CA databases.
    /// Takes about one to three seconds (RSA key generation dominates).
    pub fn generate(dir: &Path) -> Result<TestPki, MockError> {
        create_dir_all(dir)?;
        let dir = dir
            .canonicalize()
            .map_err(|e| MockError::io(format!("resolving {}", dir.display()), e))?;
        let config = dir.join("openssl.cnf");
        write_file(&config, CONFIG)?;
        let now = now_secs();
        let specs = specs();

        // 1. Keys and CSRs, in parallel (independent processes).
        let mut identities: Vec<Identity> = std::thread::scope(|s| {
            let handles: Vec<_> = specs
                .iter()
                .map(|spec| {
                    let (dir, config) = (&dir, &config);
                    s.spawn(move || make_key_and_csr(dir, config, spec))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("key generation thread panicked"))
                .collect::<Result<Vec<_>, _>>()
        })?;

        // 2. Certificates, sequentially (each CA has one database).
        let root_ca = init_ca_dir(&dir.join("ca-root"))?;
        let intermediate_ca = init_ca_dir(&dir.join("ca-intermediate"))?;
        let (root_key, root_cert) = (
            identities[0].key_pem.clone(),
            identities[0].cert_pem.clone(),
        );
        let (int_key, int_cert) = (
            identities[1].key_pem.clone(),
            identities[1].cert_pem.clone(),
        );
        for (spec, id) in specs.iter().zip(&identities) {
            let csr = id.key_pem.with_file_name("csr.pem");
            let mut cmd = tool("openssl");
            cmd.arg("ca")
                .arg("-config")
                .arg(&config)
                .args(["-batch", "-notext", "-utf8", "-preserveDN", "-rand_serial"])
                .args(["-md", "sha256", "-extensions", spec.ext])
                .arg("-startdate")
                .arg(asn1_time(now + spec.not_before))
                .arg("-enddate")
                .arg(asn1_time(now + spec.not_after))
                .arg("-in")
                .arg(&csr)
                .arg("-out")
                .arg(&id.cert_pem);
            match spec.issuer {
                Issuer::SelfSigned => {
                    cmd.env("CA_DIR", &root_ca)
                        .arg("-selfsign")
                        .arg("-keyfile")
                        .arg(&root_key);
                }
                Issuer::Root => {
                    cmd.env("CA_DIR", &root_ca)
                        .arg("-cert")
                        .arg(&root_cert)
                        .arg("-keyfile")
                        .arg(&root_key);
                }
                Issuer::Intermediate => {
                    cmd.env("CA_DIR", &intermediate_ca)
                        .arg("-cert")
                        .arg(&int_cert)
                        .arg("-keyfile")
                        .arg(&int_key);
                }
            }
            run(&mut cmd, None)?;
        }

        // 3. Chains and bundle.
        let root_pem = read(&root_cert)?;
        let int_pem = read(&int_cert)?;
        let mut bundle = root_pem.clone();
        bundle.extend_from_slice(&int_pem);
        write_file(&dir.join("ca-bundle.pem"), &bundle)?;
        for (spec, id) in specs.iter().zip(&identities) {
            let chain = match spec.issuer {
                Issuer::SelfSigned => root_pem.clone(),
                Issuer::Root => root_pem.clone(),
                Issuer::Intermediate => [int_pem.as_slice(), root_pem.as_slice()].concat(),
            };
            write_file(&id.chain_pem, chain)?;
        }

        // 4. DER certificates and PKCS#12 files, in parallel.
        std::thread::scope(|s| {
            let handles: Vec<_> = specs
                .iter()
                .zip(&identities)
                .map(|(spec, id)| s.spawn(move || finish_identity(spec, id)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("PKCS#12 thread panicked"))
                .collect::<Result<Vec<()>, _>>()
        })?;

        let leaves = identities.split_off(2);
        let intermediate = identities.pop().expect("intermediate");
        let root = identities.pop().expect("root");
        Ok(TestPki {
            dir,
            root,
            intermediate,
            identities: leaves.into_iter().map(|i| (i.name.clone(), i)).collect(),
        })
    }

    /// The PKI of this test process: generated once, on first use, in a
    /// temporary directory kept for the whole process lifetime
    /// (`$TMPDIR/paraphe-test-pki-<pid>-XXXXXX`; not removed at exit, but
    /// swept by a later test process once this one is gone).
    ///
    /// # Panics
    /// If generation fails.
    pub fn shared() -> &'static TestPki {
        static SHARED: OnceLock<(tempfile::TempDir, TestPki)> = OnceLock::new();
        &SHARED
            .get_or_init(|| {
                let tmp = process_temp_dir("paraphe-test-pki-")
                    .expect("cannot create a temporary directory for the test PKI");
                let pki = TestPki::generate(tmp.path())
                    .unwrap_or_else(|e| panic!("cannot generate the TEST-ONLY PKI: {e}"));
                (tmp, pki)
            })
            .1
    }

    /// The leaf identity called `name` (one of [`LEAF_NAMES`]; `"root"` and
    /// `"intermediate"` are accepted too).
    ///
    /// # Panics
    /// If there is no such identity.
    pub fn identity(&self, name: &str) -> &Identity {
        match name {
            "root" => &self.root,
            "intermediate" => &self.intermediate,
            _ => self.identities.get(name).unwrap_or_else(|| {
                panic!(
                    "unknown test identity {name:?}; known: root, intermediate, {}",
                    LEAF_NAMES.join(", ")
                )
            }),
        }
    }

    /// All leaf identities, sorted by name.
    pub fn leaves(&self) -> impl Iterator<Item = &Identity> {
        self.identities.values()
    }

    /// PEM file holding the root then the intermediate certificate.
    pub fn ca_bundle_pem(&self) -> PathBuf {
        self.dir.join("ca-bundle.pem")
    }
}

fn read(p: &Path) -> Result<Vec<u8>, MockError> {
    std::fs::read(p).map_err(|e| MockError::io(format!("reading {}", p.display()), e))
}

fn init_ca_dir(ca: &Path) -> Result<PathBuf, MockError> {
    create_dir_all(&ca.join("newcerts"))?;
    write_file(&ca.join("index.txt"), "")?;
    write_file(&ca.join("index.txt.attr"), "unique_subject = no\n")?;
    Ok(ca.to_path_buf())
}

fn make_key_and_csr(dir: &Path, config: &Path, spec: &Spec) -> Result<Identity, MockError> {
    let d = dir.join(spec.name);
    create_dir_all(&d)?;
    let id = Identity {
        name: spec.name.to_string(),
        cn: spec.cn.to_string(),
        cert_pem: d.join("cert.pem"),
        cert_der: d.join("cert.der"),
        key_pem: d.join("key.pem"),
        key_der: d.join("key.der"),
        pubkey_pem: d.join("pub.pem"),
        pubkey_der: d.join("pub.der"),
        p12: d.join(format!("{}.p12", spec.name)),
        p12_legacy: d.join(format!("{}-legacy.p12", spec.name)),
        chain_pem: d.join("chain.pem"),
        cka_id: vec![spec.cka_id],
        key_kind: spec.kind,
    };

    // `genpkey` writes unencrypted PKCS#8 PEM.
    let mut cmd = tool("openssl");
    cmd.arg("genpkey").arg("-quiet");
    match spec.kind {
        KeyKind::Rsa2048 => cmd.args(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        KeyKind::EcP256 => cmd.args([
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-pkeyopt",
            "ec_param_enc:named_curve",
        ]),
    };
    cmd.arg("-out").arg(&id.key_pem);
    run(&mut cmd, None)?;

    run(
        tool("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(&id.key_pem)
            .arg("-out")
            .arg(&id.key_der),
        None,
    )?;
    for (form, out) in [("PEM", &id.pubkey_pem), ("DER", &id.pubkey_der)] {
        run(
            tool("openssl")
                .args(["pkey", "-pubout", "-outform", form, "-in"])
                .arg(&id.key_pem)
                .arg("-out")
                .arg(out),
            None,
        )?;
    }
    let subject = format!(
        "/C=FR/O={ORG}/OU=TEST ONLY - ne pas utiliser/CN={}",
        spec.cn
    );
    run(
        tool("openssl")
            // The config file names $ENV::CA_DIR, which must be defined.
            .env("CA_DIR", dir)
            .args(["req", "-new", "-utf8", "-sha256", "-config"])
            .arg(config)
            .arg("-key")
            .arg(&id.key_pem)
            .arg("-subj")
            .arg(subject)
            .arg("-out")
            .arg(d.join("csr.pem")),
        None,
    )?;
    Ok(id)
}

fn finish_identity(spec: &Spec, id: &Identity) -> Result<(), MockError> {
    run(
        tool("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&id.cert_pem)
            .arg("-out")
            .arg(&id.cert_der),
        None,
    )?;
    for (legacy, out) in [(false, &id.p12), (true, &id.p12_legacy)] {
        let mut cmd = tool("openssl");
        cmd.args(["pkcs12", "-export", "-name", spec.name])
            .arg("-inkey")
            .arg(&id.key_pem)
            .arg("-in")
            .arg(&id.cert_pem)
            .arg("-passout")
            .arg(format!("pass:{P12_PASSWORD}"))
            .arg("-out")
            .arg(os(out));
        if !matches!(spec.issuer, Issuer::SelfSigned) {
            cmd.arg("-certfile").arg(&id.chain_pem);
        }
        if legacy {
            cmd.arg("-legacy");
        }
        run(&mut cmd, None)?;
    }
    Ok(())
}
