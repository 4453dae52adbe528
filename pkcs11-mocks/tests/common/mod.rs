//! Helpers shared by the integration tests (TEST ONLY material).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `program args`, returning the output whatever the exit status.
pub fn exec<I, S>(program: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let path = pkcs11_mocks::find_tool(program).unwrap_or_else(|| program.into());
    Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs the command and asserts success; returns stdout (lossy UTF-8).
pub fn exec_ok<I, S>(program: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = exec(program, &args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// DER DigestInfo prefix for SHA-256 (PKCS#1 v1.5 signatures).
pub const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Writes `data` and its SHA-256 digest (computed by `openssl dgst`) in
/// `dir`; returns (data path, digest path, digest bytes).
pub fn data_and_digest(
    dir: &Path,
    data: &[u8],
) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let data_path = dir.join("data.bin");
    std::fs::write(&data_path, data).unwrap();
    let digest_path = dir.join("digest.bin");
    exec_ok(
        "openssl",
        [
            OsStr::new("dgst"),
            OsStr::new("-sha256"),
            OsStr::new("-binary"),
            OsStr::new("-out"),
            digest_path.as_os_str(),
            data_path.as_os_str(),
        ],
    );
    let digest = std::fs::read(&digest_path).unwrap();
    assert_eq!(digest.len(), 32);
    (data_path, digest_path, digest)
}

/// Verifies `sig` over the SHA-256 `digest` file with the public key of
/// `cert` (`openssl pkeyutl -verify -certin`): PKCS#1 v1.5 for RSA, DER
/// ECDSA for EC.
pub fn pkeyutl_verify(cert: &Path, digest: &Path, sig: &Path, rsa: bool) {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("pkeyutl"),
        OsStr::new("-verify"),
        OsStr::new("-certin"),
        OsStr::new("-inkey"),
        cert.as_os_str(),
        OsStr::new("-in"),
        digest.as_os_str(),
        OsStr::new("-sigfile"),
        sig.as_os_str(),
    ];
    if rsa {
        args.extend([OsStr::new("-pkeyopt"), OsStr::new("digest:sha256")]);
    }
    let out = exec_ok("openssl", args);
    assert!(out.contains("Signature Verified Successfully"), "{out}");
}
