//! Helpers shared by the card-layer integration tests: independent verification with the
//! `openssl` command line, never with Paraphe's own code.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use pkcs11_mocks::*;

pub mod forgeries;
pub mod pdf;
pub mod pes;
pub mod revocation;
pub mod tsa;

/// Check that the tools a test needs exist (a missing tool fails in CI, skips loudly elsewhere).
pub fn tools(names: &[&str]) -> bool {
    names.iter().all(|n| tool_required(n))
}

/// The public key of a certificate, as PEM, extracted by openssl.
pub fn public_key_pem(dir: &Path, cert_pem: &Path) -> PathBuf {
    let out = dir.join(format!(
        "{}.pub.pem",
        cert_pem.file_stem().unwrap_or_default().to_string_lossy()
    ));
    let status = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(cert_pem)
        .arg("-out")
        .arg(&out)
        .status()
        .expect("openssl x509");
    assert!(status.success(), "openssl x509 -pubkey failed");
    out
}

/// How openssl should check a signature.
#[derive(Clone, Copy)]
pub enum Padding {
    Pkcs1,
    Pss,
    /// ECDSA, DER signature.
    Ecdsa,
}

/// `openssl dgst -<hash> -verify PUB -signature SIG DATA`; true when openssl prints "Verified OK".
pub fn openssl_verifies(
    dir: &Path,
    pubkey: &Path,
    hash: &str,
    padding: Padding,
    data: &[u8],
    signature: &[u8],
) -> bool {
    let data_path = dir.join("data.bin");
    let sig_path = dir.join("sig.bin");
    std::fs::write(&data_path, data).expect("write data");
    std::fs::write(&sig_path, signature).expect("write sig");
    let mut cmd = Command::new("openssl");
    cmd.arg("dgst")
        .arg(format!("-{hash}"))
        .arg("-verify")
        .arg(pubkey);
    if let Padding::Pss = padding {
        cmd.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ]);
    }
    let out = cmd
        .arg("-signature")
        .arg(&sig_path)
        .arg(&data_path)
        .output()
        .expect("openssl dgst");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

/// Encrypt `plain` for the certificate's key with openssl (`pkeyutl -encrypt`).
pub fn openssl_encrypt(dir: &Path, pubkey: &Path, plain: &[u8], oaep_md: Option<&str>) -> Vec<u8> {
    let input = dir.join("plain.bin");
    let output = dir.join("cipher.bin");
    std::fs::write(&input, plain).expect("write");
    let mut cmd = Command::new("openssl");
    cmd.args(["pkeyutl", "-encrypt", "-pubin", "-inkey"])
        .arg(pubkey);
    if let Some(md) = oaep_md {
        cmd.args(["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt"])
            .arg(format!("rsa_oaep_md:{md}"))
            .arg("-pkeyopt")
            .arg(format!("rsa_mgf1_md:{md}"));
    }
    let status = cmd
        .arg("-in")
        .arg(&input)
        .arg("-out")
        .arg(&output)
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl pkeyutl -encrypt failed");
    std::fs::read(output).expect("read")
}

/// Copy the proxy module to `dir/name.so` and write its configuration next to it, so that each
/// test gets its own proxy instance (its own counters) in the same process.
pub fn proxy_copy(dir: &Path, name: &str, config: &str) -> PathBuf {
    let so = dir.join(format!("{name}.so"));
    std::fs::copy(proxy_module(), &so).expect("copy proxy module");
    std::fs::write(dir.join(format!("{name}.so.toml")), config).expect("write proxy config");
    so
}

/// Read the proxy's call counters.
pub fn proxy_stats(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "{}".to_owned());
    serde_json::from_str(&text).expect("stats json")
}

pub fn stat(stats: &serde_json::Value, key: &str) -> u64 {
    stats
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

/// A folder of `../shared/conformance` (e.g. `pes/samples`). Missing: a failure in CI, a loud skip
/// elsewhere.
pub fn conformance(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared/conformance/{sub} is missing: CI must have it");
    } else {
        eprintln!("SKIPPED: ../shared/conformance/{sub} is missing");
        None
    }
}

/// Start `command` with `input` and a newline on its standard input (a PIN, a password), its
/// output captured; standard input is closed after.
pub fn spawn_with_input(mut command: Command, input: &str) -> Child {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn paraphe");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{input}\n").as_bytes())
        .expect("write stdin");
    child
}

/// The demonstration started as the window starts it, with `dir` as this process's data folder
/// (`PARAPHE_DONNEES`, no settings file) and the sandbox's AR after 0.2 s. Only for a test binary
/// that holds one test: it sets the process's environment.
pub fn start_demo(dir: &Path) -> paraphe::platform::demo::Demo {
    // SAFETY: the only test of its binary; set before any thread reads the environment.
    unsafe {
        std::env::set_var("PARAPHE_DONNEES", dir);
        std::env::set_var("PARAPHE_CONFIG", dir.join("absent.toml"));
    }
    std::fs::create_dir_all(dir.join("bac-a-sable")).expect("mkdir");
    std::fs::write(
        dir.join("bac-a-sable/bac-a-sable.toml"),
        "delai_ar_secondes = 0.2\n",
    )
    .expect("settings");
    paraphe::platform::demo::start(dir).expect("sandbox starts")
}

/// A finished command's exit code and outputs, for assertion messages.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "code {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
