//! Configuration of the proxy: a small TOML file, read again at every `C_Initialize` so that a
//! test can change the behaviour between two initialisations of the same loaded module.

use std::collections::BTreeSet;
use std::ffi::{CStr, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cryptoki_sys::*;
use serde::Deserialize;

/// Environment variable naming the configuration file; it wins over `<module path>.toml`.
pub const CONF_ENV: &str = "PARAPHE_P11_PROXY_CONF";

/// What session calls return once the token is "removed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalError {
    #[default]
    DeviceRemoved,
    TokenNotPresent,
}

impl RemovalError {
    pub fn rv(self) -> CK_RV {
        match self {
            RemovalError::DeviceRemoved => CKR_DEVICE_REMOVED,
            RemovalError::TokenNotPresent => CKR_TOKEN_NOT_PRESENT,
        }
    }
}

/// The file as written. `deny_unknown_fields` so that a typo in a test's configuration fails
/// loudly instead of silently disabling the fault the test relies on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    module: PathBuf,
    stats_file: Option<PathBuf>,
    state_file: Option<PathBuf>,
    remove_after_ops: Option<u64>,
    #[serde(default)]
    pin_lockout: bool,
    #[serde(default)]
    always_authenticate: bool,
    #[serde(default)]
    latency_ms: u64,
    only_mechanisms: Option<Vec<String>>,
    #[serde(default)]
    removal_error: RemovalError,
    /// Emulate a reader with a PIN pad: the token reports CKF_PROTECTED_AUTHENTICATION_PATH and
    /// a C_Login with a null PIN is given this PIN, as if typed on the pad.
    pinpad_pin: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub module: PathBuf,
    pub stats_file: Option<PathBuf>,
    pub state_file: Option<PathBuf>,
    pub remove_after_ops: Option<u64>,
    pub pin_lockout: bool,
    pub always_authenticate: bool,
    pub latency: Duration,
    pub only_mechanisms: Option<BTreeSet<CK_MECHANISM_TYPE>>,
    pub removal_error: RemovalError,
    pub pinpad_pin: Option<String>,
}

impl Config {
    /// Parses `text`; relative paths are taken relative to `base_dir` (the configuration
    /// file's directory) so that a test directory can be moved around as a whole.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let only_mechanisms = match raw.only_mechanisms {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| parse_mechanism(n))
                    .collect::<Result<BTreeSet<_>, _>>()?,
            ),
        };
        let abs = |p: PathBuf| if p.is_relative() { base_dir.join(p) } else { p };
        Ok(Config {
            module: abs(raw.module),
            stats_file: raw.stats_file.map(abs),
            state_file: raw.state_file.map(abs),
            remove_after_ops: raw.remove_after_ops,
            pin_lockout: raw.pin_lockout,
            always_authenticate: raw.always_authenticate,
            latency: Duration::from_millis(raw.latency_ms),
            only_mechanisms,
            removal_error: raw.removal_error,
            pinpad_pin: raw.pinpad_pin,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read configuration {}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base)
            .map_err(|e| format!("invalid configuration {}: {e}", path.display()))
    }

    /// Finds the configuration (environment variable, else `<this .so>.toml`) and loads it.
    pub fn locate_and_load() -> Result<Config, String> {
        Config::load(&config_path()?)
    }

    /// Whether `mech` may be used, given `only_mechanisms`.
    pub fn mechanism_allowed(&self, mech: CK_MECHANISM_TYPE) -> bool {
        self.only_mechanisms
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&mech))
    }
}

/// Where the configuration is: `$PARAPHE_P11_PROXY_CONF` if set and not empty, otherwise the
/// path of the loaded module followed by `.toml`. The second rule lets a test load several
/// independent proxies in one process by copying the `.so` under different names.
pub fn config_path() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(CONF_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let own = own_library_path().ok_or_else(|| {
        format!("{CONF_ENV} is not set and the proxy cannot find its own path (dladdr)")
    })?;
    let mut s = own.into_os_string();
    s.push(".toml");
    Ok(PathBuf::from(s))
}

/// Path of the shared object this code was loaded from, as the dynamic loader knows it.
pub fn own_library_path() -> Option<PathBuf> {
    // Any function of this crate lies inside the mapped object; dladdr maps it back to the file.
    let addr = own_library_path as fn() -> Option<PathBuf> as *const c_void;
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: `addr` is a valid code address of this object and `info` is writable storage.
    let found = unsafe { libc::dladdr(addr, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated string owned by the loader, valid while the object
    // stays mapped, which is longer than this copy.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
}

macro_rules! mechanism_table {
    ($($m:ident),* $(,)?) => {
        /// Mechanisms known by name; anything else can be given as hexadecimal.
        pub const MECHANISMS: &[(&str, CK_MECHANISM_TYPE)] = &[$((stringify!($m), $m)),*];
    };
}

mechanism_table![
    CKM_RSA_PKCS_KEY_PAIR_GEN,
    CKM_RSA_PKCS,
    CKM_RSA_9796,
    CKM_RSA_X_509,
    CKM_MD5_RSA_PKCS,
    CKM_SHA1_RSA_PKCS,
    CKM_RSA_PKCS_OAEP,
    CKM_RSA_PKCS_PSS,
    CKM_SHA1_RSA_PKCS_PSS,
    CKM_SHA224_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_SHA224_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_MD5,
    CKM_SHA_1,
    CKM_SHA224,
    CKM_SHA256,
    CKM_SHA384,
    CKM_SHA512,
    CKM_SHA_1_HMAC,
    CKM_SHA224_HMAC,
    CKM_SHA256_HMAC,
    CKM_SHA384_HMAC,
    CKM_SHA512_HMAC,
    CKM_GENERIC_SECRET_KEY_GEN,
    CKM_EC_KEY_PAIR_GEN,
    CKM_ECDSA,
    CKM_ECDSA_SHA1,
    CKM_ECDSA_SHA224,
    CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA384,
    CKM_ECDSA_SHA512,
    CKM_ECDH1_DERIVE,
    CKM_EC_EDWARDS_KEY_PAIR_GEN,
    CKM_EDDSA,
    CKM_AES_KEY_GEN,
    CKM_AES_ECB,
    CKM_AES_CBC,
    CKM_AES_CBC_PAD,
    CKM_AES_CTR,
    CKM_AES_GCM,
    CKM_AES_KEY_WRAP,
    CKM_AES_KEY_WRAP_PAD,
    CKM_AES_CMAC,
    CKM_DES3_KEY_GEN,
    CKM_DES3_ECB,
    CKM_DES3_CBC,
    CKM_DES3_CBC_PAD,
];

/// Parses a mechanism: a PKCS#11 name (`CKM_SHA256_RSA_PKCS`; the `CKM_` prefix may be
/// omitted and `-` may stand for `_`, so pkcs11-tool's `SHA256-RSA-PKCS` works too) or a
/// hexadecimal value (`0x40`).
pub fn parse_mechanism(text: &str) -> Result<CK_MECHANISM_TYPE, String> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return CK_MECHANISM_TYPE::from_str_radix(hex, 16)
            .map_err(|e| format!("invalid mechanism {text:?}: {e}"));
    }
    let mut name = t.to_ascii_uppercase().replace('-', "_");
    if !name.starts_with("CKM_") {
        name.insert_str(0, "CKM_");
    }
    MECHANISMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
        .ok_or_else(|| format!("unknown mechanism {text:?} (use a CKM_ name or 0x... hex)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names() {
        assert_eq!(parse_mechanism("CKM_RSA_PKCS"), Ok(CKM_RSA_PKCS));
        assert_eq!(parse_mechanism("SHA256-RSA-PKCS"), Ok(CKM_SHA256_RSA_PKCS));
        assert_eq!(parse_mechanism("ckm_ecdsa"), Ok(CKM_ECDSA));
        assert_eq!(parse_mechanism("0x40"), Ok(CKM_SHA256_RSA_PKCS));
        assert_eq!(parse_mechanism("0X0d"), Ok(CKM_RSA_PKCS_PSS));
        assert!(parse_mechanism("CKM_NOPE").is_err());
        assert!(parse_mechanism("0xZZ").is_err());
        assert!(MECHANISMS.len() >= 20);
    }

    #[test]
    fn full_config() {
        let cfg = Config::parse(
            r#"
            module = "/usr/lib/softhsm/libsofthsm2.so"
            stats_file = "stats.json"
            state_file = "/tmp/state.json"
            remove_after_ops = 10
            pin_lockout = true
            always_authenticate = true
            latency_ms = 50
            only_mechanisms = ["CKM_RSA_PKCS", "0x40"]
            removal_error = "token_not_present"
            "#,
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!(cfg.module, Path::new("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(
            cfg.stats_file.as_deref(),
            Some(Path::new("/base/stats.json"))
        );
        assert_eq!(
            cfg.state_file.as_deref(),
            Some(Path::new("/tmp/state.json"))
        );
        assert_eq!(cfg.remove_after_ops, Some(10));
        assert!(cfg.pin_lockout && cfg.always_authenticate);
        assert_eq!(cfg.latency, Duration::from_millis(50));
        assert!(cfg.mechanism_allowed(CKM_RSA_PKCS));
        assert!(cfg.mechanism_allowed(CKM_SHA256_RSA_PKCS));
        assert!(!cfg.mechanism_allowed(CKM_ECDSA));
        assert_eq!(cfg.removal_error.rv(), CKR_TOKEN_NOT_PRESENT);
    }

    #[test]
    fn minimal_config_and_errors() {
        let cfg = Config::parse("module = \"m.so\"", Path::new("/d")).unwrap();
        assert_eq!(cfg.module, Path::new("/d/m.so"));
        assert!(!cfg.pin_lockout && !cfg.always_authenticate);
        assert!(cfg.mechanism_allowed(CKM_ECDSA));
        assert_eq!(cfg.removal_error, RemovalError::DeviceRemoved);

        assert!(
            Config::parse("", Path::new("/")).is_err(),
            "module is required"
        );
        assert!(
            Config::parse("module = \"m\"\npin_lockuot = true", Path::new("/")).is_err(),
            "typos are rejected"
        );
        assert!(Config::parse("module = \"m\"\nremoval_error = \"x\"", Path::new("/")).is_err());
        assert!(
            Config::parse("module = \"m\"\nonly_mechanisms = [\"X\"]", Path::new("/")).is_err()
        );
    }
}
