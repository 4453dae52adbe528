//! The TEST-ONLY PKI: certificate contents, dates, chains, key formats and
//! PKCS#12 files, checked with the `openssl` command line.

mod common;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

use common::{exec, exec_ok, stderr};
use pkcs11_mocks::{Identity, KeyKind, LEAF_NAMES, P12_PASSWORD, TestPki, tool_required};

const DAY: u64 = 86_400;

fn text(cert: &Path) -> String {
    exec_ok(
        "openssl",
        [
            OsStr::new("x509"),
            OsStr::new("-noout"),
            OsStr::new("-text"),
            OsStr::new("-nameopt"),
            OsStr::new("utf8,sep_comma_plus_space"),
            OsStr::new("-in"),
            cert.as_os_str(),
        ],
    )
}

/// The lines following the header `ext` in `openssl x509 -text`, i.e. the
/// value of that extension.
fn ext_value(text: &str, ext: &str) -> Option<String> {
    let mut lines = text.lines();
    lines.find(|l| l.trim_start().starts_with(ext))?;
    Some(lines.next()?.trim().to_string())
}

/// `openssl x509 -checkend secs`: true when still valid in `secs` seconds.
fn valid_in(cert: &Path, secs: u64) -> bool {
    exec(
        "openssl",
        [
            OsStr::new("x509"),
            OsStr::new("-noout"),
            OsStr::new("-checkend"),
            OsStr::new(&secs.to_string()),
            OsStr::new("-in"),
            cert.as_os_str(),
        ],
    )
    .status
    .success()
}

fn verify(pki: &TestPki, leaf: &Identity) -> (bool, String) {
    let out = exec(
        "openssl",
        [
            OsStr::new("verify"),
            OsStr::new("-CAfile"),
            pki.root.cert_pem.as_os_str(),
            OsStr::new("-untrusted"),
            pki.intermediate.cert_pem.as_os_str(),
            leaf.cert_pem.as_os_str(),
        ],
    );
    let all = format!("{}{}", common::stdout(&out), stderr(&out));
    (out.status.success(), all)
}

#[test]
fn generate_builds_every_file_quickly() {
    if !tool_required("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let pki = TestPki::generate(tmp.path()).expect("generate");
    let took = start.elapsed();
    eprintln!("TestPki::generate took {took:?}");
    assert!(took.as_secs() < 20, "PKI generation too slow: {took:?}");

    let mut ids = HashSet::new();
    let mut serials = HashSet::new();
    let all: Vec<&Identity> = [&pki.root, &pki.intermediate]
        .into_iter()
        .chain(LEAF_NAMES.iter().map(|n| pki.identity(n)))
        .collect();
    assert_eq!(pki.leaves().count(), LEAF_NAMES.len());
    for id in &all {
        for f in [
            &id.cert_pem,
            &id.cert_der,
            &id.key_pem,
            &id.key_der,
            &id.pubkey_pem,
            &id.pubkey_der,
            &id.p12,
            &id.p12_legacy,
            &id.chain_pem,
        ] {
            let len = std::fs::metadata(f)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                .len();
            assert!(len > 0, "{} is empty", f.display());
            assert!(f.starts_with(&pki.dir));
        }
        assert!(
            ids.insert(id.cka_id.clone()),
            "duplicate CKA_ID for {}",
            id.name
        );
        let serial = exec_ok(
            "openssl",
            [
                OsStr::new("x509"),
                OsStr::new("-noout"),
                OsStr::new("-serial"),
                OsStr::new("-in"),
                id.cert_pem.as_os_str(),
            ],
        );
        assert!(serials.insert(serial.clone()), "duplicate serial {serial}");
    }
    let bundle = std::fs::read_to_string(pki.ca_bundle_pem()).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    let chain = std::fs::read_to_string(&pki.identity("signature").chain_pem).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(pki.identity("ecdsa-p256").key_kind, KeyKind::EcP256);
    assert_eq!(pki.identity("signature").key_kind, KeyKind::Rsa2048);
}

#[test]
fn shared_is_generated_once() {
    if !tool_required("openssl") {
        return;
    }
    let a = TestPki::shared();
    let b = TestPki::shared();
    assert!(std::ptr::eq(a, b));
    assert!(a.dir.is_dir());
}

#[test]
#[should_panic(expected = "unknown test identity")]
fn unknown_identity_panics() {
    if !tool_required("openssl") {
        panic!("unknown test identity (openssl missing)");
    }
    TestPki::shared().identity("n-existe-pas");
}

#[test]
fn subjects_and_ca_certificates() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    let root = text(&pki.root.cert_pem);
    assert!(
        root.contains("Subject: C=FR, O=Paraphe TEST ONLY"),
        "{root}"
    );
    assert!(root.contains("CN=Paraphe TEST ONLY AC racine"), "{root}");
    let inter = text(&pki.intermediate.cert_pem);
    assert!(
        inter.contains("CN=Paraphe TEST ONLY AC intermédiaire"),
        "{inter}"
    );
    for t in [&root, &inter] {
        let bc = ext_value(t, "X509v3 Basic Constraints: critical").expect("critical BC");
        assert!(bc.starts_with("CA:TRUE"), "{bc}");
        assert_eq!(
            ext_value(t, "X509v3 Key Usage: critical").as_deref(),
            Some("Certificate Sign, CRL Sign")
        );
        assert!(t.contains("X509v3 Subject Key Identifier"));
        assert!(t.contains("X509v3 Authority Key Identifier"));
    }
    for name in LEAF_NAMES {
        let id = pki.identity(name);
        let t = text(&id.cert_pem);
        assert!(t.contains("O=Paraphe TEST ONLY"), "{name}: {t}");
        assert!(t.contains("C=FR"), "{name}");
        assert!(t.contains(&format!("CN={}", id.cn)), "{name}: {t}");
        assert!(id.cn.starts_with("Camille Test – "), "{}", id.cn);
        assert!(
            t.contains("Issuer: C=FR, O=Paraphe TEST ONLY, OU=TEST ONLY - ne pas utiliser, CN=Paraphe TEST ONLY AC intermédiaire"),
            "{name}: {t}"
        );
        assert!(t.contains("X509v3 Subject Key Identifier"), "{name}");
        assert!(t.contains("X509v3 Authority Key Identifier"), "{name}");
        assert!(t.contains("CA:FALSE"), "{name}");
        match id.key_kind {
            KeyKind::Rsa2048 => assert!(t.contains("Public-Key: (2048 bit)"), "{name}"),
            KeyKind::EcP256 => assert!(t.contains("NIST CURVE: P-256"), "{name}: {t}"),
        }
    }
}

#[test]
fn key_usages_match_roles() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    // (name, keyUsage, extendedKeyUsage)
    let expected: [(&str, &str, Option<&str>); 10] = [
        ("signature", "Non Repudiation", None),
        (
            "authentification",
            "Digital Signature",
            Some("TLS Web Client Authentication, E-mail Protection"),
        ),
        ("chiffrement", "Key Encipherment, Data Encipherment", None),
        ("expire", "Non Repudiation", None),
        ("pas-encore-valide", "Non Repudiation", None),
        ("bientot-expire", "Non Repudiation", None),
        ("mauvais-usage", "Key Agreement", Some("Code Signing")),
        (
            "ecdsa-p256",
            "Digital Signature, Non Repudiation",
            Some("TLS Web Client Authentication"),
        ),
        (
            "double-usage",
            "Digital Signature, Non Repudiation, Key Encipherment",
            Some("TLS Web Client Authentication, E-mail Protection"),
        ),
        ("qualifie", "Non Repudiation", None),
    ];
    for (name, ku, eku) in expected {
        let t = text(&pki.identity(name).cert_pem);
        assert_eq!(
            ext_value(&t, "X509v3 Key Usage: critical").as_deref(),
            Some(ku),
            "{name}: {t}"
        );
        assert_eq!(
            ext_value(&t, "X509v3 Extended Key Usage").as_deref(),
            eku,
            "{name}: {t}"
        );
    }
    let sig = text(&pki.identity("signature").cert_pem);
    assert!(sig.contains("Policy: 2.999.1.1"), "{sig}");
}

#[test]
fn validity_periods() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    for name in [
        "signature",
        "authentification",
        "chiffrement",
        "mauvais-usage",
        "ecdsa-p256",
        "double-usage",
        "qualifie",
    ] {
        let c = &pki.identity(name).cert_pem;
        assert!(valid_in(c, 0), "{name} should be valid now");
        assert!(valid_in(c, 700 * DAY), "{name} should last ~2 years");
        assert!(!valid_in(c, 740 * DAY), "{name} should end after ~2 years");
    }
    let soon = &pki.identity("bientot-expire").cert_pem;
    assert!(valid_in(soon, 0));
    assert!(valid_in(soon, 29 * DAY), "bientot-expire: 30 days left");
    assert!(!valid_in(soon, 31 * DAY), "bientot-expire: 30 days left");
    assert!(!valid_in(&pki.identity("expire").cert_pem, 0));

    // notBefore one year ahead: openssl -checkend does not look at it, the
    // chain verification below does; check the text too.
    let t = text(&pki.identity("pas-encore-valide").cert_pem);
    let nb = t
        .lines()
        .find(|l| l.contains("Not Before:"))
        .expect("Not Before");
    let year_now: u32 = exec_ok("date", ["-u", "+%Y"]).trim().parse().unwrap();
    assert!(nb.contains(&(year_now + 1).to_string()), "{nb}");
}

#[test]
fn chains_verify_or_fail_for_the_right_reason() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    for name in LEAF_NAMES {
        let (ok, out) = verify(pki, pki.identity(name));
        match name {
            "expire" => {
                assert!(!ok, "{out}");
                assert!(out.contains("certificate has expired"), "{out}");
            }
            "pas-encore-valide" => {
                assert!(!ok, "{out}");
                assert!(out.contains("certificate is not yet valid"), "{out}");
            }
            _ => assert!(ok && out.contains(": OK"), "{name}: {out}"),
        }
    }
    // The bundle alone also works as trust store.
    let out = exec_ok(
        "openssl",
        [
            OsStr::new("verify"),
            OsStr::new("-CAfile"),
            pki.ca_bundle_pem().as_os_str(),
            pki.identity("qualifie").cert_pem.as_os_str(),
        ],
    );
    assert!(out.contains(": OK"), "{out}");
}

#[test]
fn qc_statements_structure() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    let cert = &pki.identity("qualifie").cert_pem;
    let dump = exec_ok(
        "openssl",
        [OsStr::new("asn1parse"), OsStr::new("-in"), cert.as_os_str()],
    );
    // "<offset>:d=5 hl=2 l= 8 prim: OBJECT :qcStatements" then the OCTET STRING.
    let mut lines = dump.lines();
    lines
        .find(|l| l.contains(":qcStatements") || l.contains(":1.3.6.1.5.5.7.1.3"))
        .unwrap_or_else(|| panic!("no qcStatements extension:\n{dump}"));
    let octets = lines.next().unwrap();
    assert!(octets.contains("OCTET STRING"), "{octets}");
    let offset = octets.split(':').next().unwrap().trim().to_string();
    let inner = exec_ok(
        "openssl",
        [
            OsStr::new("asn1parse"),
            OsStr::new("-in"),
            cert.as_os_str(),
            OsStr::new("-strparse"),
            OsStr::new(&offset),
        ],
    );
    // Keep "depth kind :value" of each line.
    let items: Vec<(u32, String)> = inner
        .lines()
        .map(|l| {
            let depth: u32 = l
                .split("d=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|d| d.parse().ok())
                .unwrap();
            let kind = l.split_once(':').unwrap().1;
            let kind = kind
                .rsplit_once("cons:")
                .or(kind.rsplit_once("prim:"))
                .unwrap()
                .1;
            (depth, kind.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect();
    let expected: Vec<(u32, String)> = [
        (0, "SEQUENCE"),
        (1, "SEQUENCE"),
        (2, "OBJECT :0.4.0.1862.1.1"),
        (1, "SEQUENCE"),
        (2, "OBJECT :0.4.0.1862.1.4"),
        (1, "SEQUENCE"),
        (2, "OBJECT :0.4.0.1862.1.6"),
        (2, "SEQUENCE"),
        (3, "OBJECT :0.4.0.1862.1.6.1"),
    ]
    .iter()
    .map(|(d, s)| (*d, s.to_string()))
    .collect();
    assert_eq!(items, expected, "{inner}");

    let t = text(cert);
    assert!(t.contains("Policy: 0.4.0.194112.1.2"), "{t}");
    // The other certificates have no QC statements.
    let t = text(&pki.identity("signature").cert_pem);
    assert!(!t.contains("qcStatements"), "{t}");
}

#[test]
fn keys_are_pkcs8_and_match_certificates() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    for name in LEAF_NAMES {
        let id = pki.identity(name);
        let pem = std::fs::read_to_string(&id.key_pem).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{name}");
        let der = exec_ok(
            "openssl",
            [
                OsStr::new("asn1parse"),
                OsStr::new("-inform"),
                OsStr::new("DER"),
                OsStr::new("-in"),
                id.key_der.as_os_str(),
            ],
        );
        // PrivateKeyInfo: SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING }
        let first: Vec<&str> = der.lines().take(4).collect();
        assert!(first[1].contains("INTEGER           :00"), "{name}: {der}");
        let alg = match id.key_kind {
            KeyKind::Rsa2048 => ":rsaEncryption",
            KeyKind::EcP256 => ":id-ecPublicKey",
        };
        assert!(first[3].contains(alg), "{name}: {der}");

        let from_key = exec_ok(
            "openssl",
            [
                OsStr::new("pkey"),
                OsStr::new("-pubout"),
                OsStr::new("-in"),
                id.key_pem.as_os_str(),
            ],
        );
        let from_cert = exec_ok(
            "openssl",
            [
                OsStr::new("x509"),
                OsStr::new("-noout"),
                OsStr::new("-pubkey"),
                OsStr::new("-in"),
                id.cert_pem.as_os_str(),
            ],
        );
        assert_eq!(from_key, from_cert, "{name}: key and certificate differ");
        assert_eq!(
            from_key,
            std::fs::read_to_string(&id.pubkey_pem).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn pkcs12_modern_and_legacy() {
    if !tool_required("openssl") {
        return;
    }
    let pki = TestPki::shared();
    let pass = format!("pass:{P12_PASSWORD}");
    for name in ["signature", "ecdsa-p256"] {
        let id = pki.identity(name);
        // `-info` writes the structure on stderr.
        let out = exec(
            "openssl",
            [
                OsStr::new("pkcs12"),
                OsStr::new("-info"),
                OsStr::new("-noout"),
                OsStr::new("-passin"),
                OsStr::new(&pass),
                OsStr::new("-in"),
                id.p12.as_os_str(),
            ],
        );
        let info = format!("{}{}", common::stdout(&out), stderr(&out));
        assert!(out.status.success(), "{name}: {info}");
        assert!(
            info.contains("PBES2, PBKDF2, AES-256-CBC"),
            "{name}: {info}"
        );
        assert!(info.contains("Shrouded Keybag"), "{name}: {info}");
        assert_eq!(info.matches("Certificate bag").count(), 3, "{name}: {info}");

        // Key + cert + chain come back out, friendly name = identity name.
        let dump = exec_ok(
            "openssl",
            [
                OsStr::new("pkcs12"),
                OsStr::new("-nodes"),
                OsStr::new("-passin"),
                OsStr::new(&pass),
                OsStr::new("-in"),
                id.p12.as_os_str(),
            ],
        );
        assert!(dump.contains("BEGIN PRIVATE KEY"), "{name}");
        assert!(
            dump.contains(&format!("friendlyName: {name}")),
            "{name}: {dump}"
        );
        assert_eq!(dump.matches("BEGIN CERTIFICATE").count(), 3);

        // The legacy file needs -legacy with OpenSSL 3.
        let out = exec(
            "openssl",
            [
                OsStr::new("pkcs12"),
                OsStr::new("-info"),
                OsStr::new("-noout"),
                OsStr::new("-legacy"),
                OsStr::new("-passin"),
                OsStr::new(&pass),
                OsStr::new("-in"),
                id.p12_legacy.as_os_str(),
            ],
        );
        let info = format!("{}{}", common::stdout(&out), stderr(&out));
        assert!(out.status.success(), "{info}");
        assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
        assert!(info.contains("MAC: sha1"), "{info}");
    }
}
