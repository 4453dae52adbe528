//! Shared fixtures: a SoftHSM2 token in a temporary directory, the built proxy, and helpers to
//! drive them with `pkcs11-tool`.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const PIN: &str = "1234";
pub const SO_PIN: &str = "12345678";
pub const LABEL: &str = "T";

/// The proxy built by `cargo build -p paraphe-p11-proxy`. Building it from here would take the
/// cargo lock held by the very `cargo test` running us, so a missing file is an error.
///
/// `cargo test` itself also links the cdylib, but leaves it in `deps/` without copying it up:
/// the newer of the two files is taken, so that a test never runs a stale proxy.
pub fn proxy_so() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let built = target.join(profile).join("libparaphe_p11_proxy.so");
    let linked = target
        .join(profile)
        .join("deps")
        .join("libparaphe_p11_proxy.so");
    [built.clone(), linked]
        .into_iter()
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "{} is missing: run `cargo build -p paraphe-p11-proxy` first",
                built.display()
            )
        })
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is it installed?): {e}"))
}

fn check(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A SoftHSM2 token labelled `T` (user PIN 1234) holding an RSA-2048 key pair `k` (ID 01),
/// in its own directory with its own `softhsm2.conf`.
pub struct Token {
    pub dir: TempDir,
    pub softhsm_conf: PathBuf,
    /// The slot SoftHSM reassigned the token to.
    pub slot: u64,
}

impl Token {
    pub fn new() -> Token {
        let dir = tempfile::tempdir().expect("temporary directory");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let softhsm_conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &softhsm_conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let out = check(
            Command::new("softhsm2-util")
                .env("SOFTHSM2_CONF", &softhsm_conf)
                .args(["--init-token", "--free", "--label", LABEL])
                .args(["--pin", PIN, "--so-pin", SO_PIN]),
        );
        // "The token has been initialized and is reassigned to slot 1234567"
        let text = String::from_utf8_lossy(&out.stdout);
        let slot = text
            .split_whitespace()
            .last()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no slot number in softhsm2-util output: {text}"));
        // Straight to SoftHSM, so that the proxies' statistics start from zero.
        check(
            Command::new("pkcs11-tool")
                .env("SOFTHSM2_CONF", &softhsm_conf)
                .args([
                    "--module",
                    SOFTHSM,
                    "--token-label",
                    LABEL,
                    "--login",
                    "--pin",
                    PIN,
                ])
                .args([
                    "--keypairgen",
                    "--key-type",
                    "rsa:2048",
                    "--id",
                    "01",
                    "--label",
                    "k",
                ]),
        );
        Token {
            dir,
            softhsm_conf,
            slot,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `proxy.toml` (real module, `stats.json`, `state.json`, plus `extra` keys) and
    /// returns its path.
    pub fn proxy_conf(&self, extra: &str) -> PathBuf {
        let conf = self.path("proxy.toml");
        std::fs::write(
            &conf,
            format!(
                "module = \"{SOFTHSM}\"\nstats_file = \"{}\"\nstate_file = \"{}\"\n{extra}\n",
                self.path("stats.json").display(),
                self.path("state.json").display()
            ),
        )
        .unwrap();
        conf
    }

    /// Counters written by the proxy (missing keys mean 0).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        let bytes = std::fs::read(self.path("stats.json")).expect("stats file written");
        serde_json::from_slice(&bytes).expect("stats file is a JSON object of counters")
    }

    pub fn stat(&self, key: &str) -> u64 {
        self.stats().get(key).copied().unwrap_or(0)
    }

    /// Runs `pkcs11-tool --module <proxy> args...` with the proxy configured by `conf`.
    pub fn tool(&self, conf: &Path, args: &[&str]) -> Tool {
        let out = run(Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.softhsm_conf)
            .env("PARAPHE_P11_PROXY_CONF", conf)
            .arg("--module")
            .arg(proxy_so())
            .args(args));
        Tool(out)
    }

    /// A small file to sign.
    pub fn data_file(&self) -> PathBuf {
        let input = self.path("data.txt");
        std::fs::write(&input, b"Deliberation n. 2024-042\n").unwrap();
        input
    }

    /// Signs the data file with key 01 through the proxy; the signature goes to `out_name`.
    pub fn sign(&self, conf: &Path, mechanism: &str, out_name: &str) -> Tool {
        let input = self.data_file();
        let output = self.path(out_name);
        self.tool(
            conf,
            &[
                "--token-label",
                LABEL,
                "--login",
                "--pin",
                PIN,
                "--sign",
                "--id",
                "01",
                "--mechanism",
                mechanism,
                "--input-file",
                input.to_str().unwrap(),
                "--output-file",
                output.to_str().unwrap(),
            ],
        )
    }
}

/// Output of one `pkcs11-tool` run.
pub struct Tool(pub Output);

impl Tool {
    pub fn ok(&self) -> bool {
        self.0.status.success()
    }

    /// stdout and stderr together: pkcs11-tool prints errors on stderr, listings on stdout.
    pub fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.0.stdout),
            String::from_utf8_lossy(&self.0.stderr)
        )
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "pkcs11-tool failed:\n{}", self.text());
        self
    }

    #[track_caller]
    pub fn assert_fails_with(&self, needle: &str) -> &Self {
        assert!(
            !self.ok(),
            "pkcs11-tool should have failed:\n{}",
            self.text()
        );
        assert!(
            self.text().contains(needle),
            "expected {needle:?} in:\n{}",
            self.text()
        );
        self
    }
}
