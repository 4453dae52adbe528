//! Finding PKCS#11 modules (the "middleware" users install with their card): the configured path,
//! p11-kit's proxy and the modules registered with p11-kit, then the well-known install paths of
//! common middleware on Linux, Windows and macOS.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where a candidate module comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "nom", rename_all = "snake_case")]
pub enum Origin {
    /// Given on the command line.
    LigneDeCommande,
    /// From the settings file.
    Configure,
    /// p11-kit's proxy, which aggregates every registered module.
    P11KitProxy,
    /// A module registered with p11-kit (`*.module` files), by its registration name.
    P11Kit(String),
    /// A well-known install path of a vendor's middleware.
    Connu(String),
}

impl Origin {
    pub fn label(&self) -> String {
        use crate::messages::t;
        match self {
            Origin::LigneDeCommande => t("cartes.origine_ligne_de_commande"),
            Origin::Configure => t("cartes.origine_configure"),
            Origin::P11KitProxy => t("cartes.origine_p11kit_proxy"),
            Origin::P11Kit(name) => format!("{} ({name})", t("cartes.origine_p11kit")),
            Origin::Connu(vendor) => format!("{} ({vendor})", t("cartes.origine_connu")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleCandidate {
    pub path: PathBuf,
    pub origin: Origin,
}

/// Where to look; the defaults are the system's, tests point them at temporary folders.
#[derive(Debug, Clone)]
pub struct SearchPaths {
    /// Folders holding p11-kit `*.module` files, in priority order.
    pub p11kit_config_dirs: Vec<PathBuf>,
    /// Folder relative module paths in p11-kit files are resolved against.
    pub p11kit_module_dir: PathBuf,
    /// p11-kit proxy candidates.
    pub p11kit_proxies: Vec<PathBuf>,
    /// Vendor middleware candidates.
    pub well_known: Vec<(PathBuf, &'static str)>,
}

impl SearchPaths {
    pub fn system() -> Self {
        let mut p11kit_config_dirs = Vec::new();
        if let Some(base) = directories::BaseDirs::new() {
            p11kit_config_dirs.push(base.config_dir().join("pkcs11/modules"));
        }
        p11kit_config_dirs.push(PathBuf::from("/etc/pkcs11/modules"));
        p11kit_config_dirs.push(PathBuf::from("/usr/share/p11-kit/modules"));
        SearchPaths {
            p11kit_config_dirs,
            p11kit_module_dir: PathBuf::from(multiarch_lib_dir()).join("pkcs11"),
            p11kit_proxies: [
                format!("{}/p11-kit-proxy.so", multiarch_lib_dir()),
                "/usr/lib64/p11-kit-proxy.so".to_owned(),
                "/usr/lib/p11-kit-proxy.so".to_owned(),
            ]
            .into_iter()
            .map(PathBuf::from)
            .collect(),
            well_known: well_known_paths(),
        }
    }
}

fn multiarch_lib_dir() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "/usr/lib/aarch64-linux-gnu"
    } else {
        "/usr/lib/x86_64-linux-gnu"
    }
}

/// Install paths of the middleware French local authorities meet (certificates from Certinomis,
/// ChamberSign, Certigna, Crédit Agricole… on SafeNet eToken, Thales IDPrime, Idemia or
/// OpenSC-supported cards).
fn well_known_paths() -> Vec<(PathBuf, &'static str)> {
    let lib = multiarch_lib_dir();
    let list: Vec<(String, &'static str)> = if cfg!(windows) {
        vec![
            (r"C:\Windows\System32\eTPKCS11.dll".into(), "SafeNet eToken"),
            (
                r"C:\Windows\System32\IDPrimePKCS11.dll".into(),
                "Thales IDPrime",
            ),
            (
                r"C:\Windows\System32\idprimepkcs1164.dll".into(),
                "Thales IDPrime",
            ),
            (r"C:\Windows\System32\OcsCryptoki.dll".into(), "Idemia"),
            (
                r"C:\Program Files\OpenSC Project\OpenSC\pkcs11\opensc-pkcs11.dll".into(),
                "OpenSC",
            ),
            (r"C:\Windows\System32\opensc-pkcs11.dll".into(), "OpenSC"),
        ]
    } else if cfg!(target_os = "macos") {
        vec![
            ("/Library/OpenSC/lib/opensc-pkcs11.so".into(), "OpenSC"),
            ("/usr/local/lib/libeTPkcs11.dylib".into(), "SafeNet eToken"),
            (
                "/usr/local/lib/libIDPrimePKCS11.dylib".into(),
                "Thales IDPrime",
            ),
            (
                "/Library/Frameworks/eToken.framework/Versions/Current/libeToken.dylib".into(),
                "SafeNet eToken",
            ),
            ("/usr/local/AWP/lib/libOcsCryptoki.dylib".into(), "Idemia"),
        ]
    } else {
        vec![
            (format!("{lib}/opensc-pkcs11.so"), "OpenSC"),
            ("/usr/lib64/opensc-pkcs11.so".into(), "OpenSC"),
            ("/usr/lib/opensc-pkcs11.so".into(), "OpenSC"),
            ("/usr/lib/libeTPkcs11.so".into(), "SafeNet eToken"),
            ("/usr/lib64/libeTPkcs11.so".into(), "SafeNet eToken"),
            ("/usr/lib/libIDPrimePKCS11.so".into(), "Thales IDPrime"),
            ("/usr/lib64/libIDPrimePKCS11.so".into(), "Thales IDPrime"),
            ("/usr/local/AWP/lib/libOcsCryptoki.so".into(), "Idemia"),
            ("/usr/lib/libiaspkcs11.so".into(), "Idemia"),
        ]
    };
    list.into_iter()
        .map(|(p, v)| (PathBuf::from(p), v))
        .collect()
}

/// Parse one p11-kit `.module` file: `module: PATH` (relative paths are under the module dir) and
/// `disable-in`/`enable-in` are honoured for "paraphe"; returns the module path.
pub fn parse_p11kit_module(text: &str, module_dir: &Path) -> Option<PathBuf> {
    let mut module = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "module" if !value.is_empty() => {
                let p = PathBuf::from(value);
                module = Some(if p.is_absolute() {
                    p
                } else {
                    module_dir.join(p)
                });
            }
            "disable-in" if value.split_whitespace().any(|app| app == "paraphe") => return None,
            "enable-in" if !value.split_whitespace().any(|app| app == "paraphe") => return None,
            _ => {}
        }
    }
    module
}

/// Every module that exists on this machine, in order of preference, without duplicates.
/// `configured` comes first (and is kept even when missing, so the user hears about it).
pub fn discover(
    configured: Option<(PathBuf, Origin)>,
    paths: &SearchPaths,
) -> Vec<ModuleCandidate> {
    let mut out: Vec<ModuleCandidate> = Vec::new();
    let push = |path: PathBuf, origin: Origin, out: &mut Vec<ModuleCandidate>| {
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let known = out.iter().any(|c| {
            std::fs::canonicalize(&c.path).unwrap_or_else(|_| c.path.clone()) == canonical
        });
        if !known {
            out.push(ModuleCandidate { path, origin });
        }
    };
    if let Some((path, origin)) = configured {
        push(path, origin, &mut out);
    }
    for proxy in &paths.p11kit_proxies {
        if proxy.is_file() {
            push(proxy.clone(), Origin::P11KitProxy, &mut out);
            break;
        }
    }
    for dir in &paths.p11kit_config_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "module"))
            .collect();
        files.sort();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(module) = parse_p11kit_module(&text, &paths.p11kit_module_dir)
                && module.is_file()
            {
                push(module, Origin::P11Kit(name), &mut out);
            }
        }
    }
    for (path, vendor) in &paths.well_known {
        if path.is_file() {
            push(path.clone(), Origin::Connu((*vendor).to_owned()), &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p11kit_module_files() {
        let dir = Path::new("/usr/lib/x86_64-linux-gnu/pkcs11");
        assert_eq!(
            parse_p11kit_module("# OpenSC\nmodule: opensc-pkcs11.so\n", dir),
            Some(dir.join("opensc-pkcs11.so"))
        );
        assert_eq!(
            parse_p11kit_module("module: /opt/x/lib.so\ncritical: no\n", dir),
            Some(PathBuf::from("/opt/x/lib.so"))
        );
        assert_eq!(
            parse_p11kit_module("module: a.so\ndisable-in: firefox paraphe\n", dir),
            None
        );
        assert_eq!(
            parse_p11kit_module("module: a.so\nenable-in: firefox\n", dir),
            None
        );
        assert_eq!(parse_p11kit_module("remote: |ssh host\n", dir), None);
    }

    #[test]
    fn discovery_orders_and_deduplicates() {
        let tmp = tempfile::tempdir().expect("tmp");
        let mods = tmp.path().join("mods");
        let conf = tmp.path().join("conf");
        std::fs::create_dir_all(&mods).expect("mkdir");
        std::fs::create_dir_all(&conf).expect("mkdir");
        for name in ["proxy.so", "vendor.so", "opensc.so"] {
            std::fs::write(mods.join(name), b"").expect("write");
        }
        std::fs::write(conf.join("opensc.module"), "module: opensc.so\n").expect("write");
        std::fs::write(conf.join("gone.module"), "module: missing.so\n").expect("write");
        std::fs::write(conf.join("notes.txt"), "module: vendor.so\n").expect("write");
        let paths = SearchPaths {
            p11kit_config_dirs: vec![conf],
            p11kit_module_dir: mods.clone(),
            p11kit_proxies: vec![tmp.path().join("absent.so"), mods.join("proxy.so")],
            well_known: vec![
                (mods.join("vendor.so"), "Vendor"),
                (mods.join("opensc.so"), "OpenSC"),
            ],
        };
        let found = discover(
            Some((tmp.path().join("configured.so"), Origin::Configure)),
            &paths,
        );
        let summary: Vec<(String, Origin)> = found
            .iter()
            .map(|c| {
                (
                    c.path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    c.origin.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("configured.so".into(), Origin::Configure),
                ("proxy.so".into(), Origin::P11KitProxy),
                ("opensc.so".into(), Origin::P11Kit("opensc".into())),
                ("vendor.so".into(), Origin::Connu("Vendor".into())),
            ]
        );
    }
}
