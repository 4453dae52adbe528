//! SoftHSM2 tokens for tests, in a private token directory. TEST ONLY.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::{create_dir_all, process_temp_dir, run, tool, write_file};
use crate::{Identity, MockError, SO_PIN};

/// Path of the SoftHSM2 PKCS#11 module.
pub fn softhsm_module() -> PathBuf {
    const DEFAULT: &str = "/usr/lib/softhsm/libsofthsm2.so";
    let mut candidates = vec![PathBuf::from(DEFAULT)];
    for base in ["/usr/lib", "/usr/lib64", "/usr/local/lib"] {
        if let Ok(rd) = std::fs::read_dir(base) {
            for e in rd.flatten() {
                candidates.push(e.path().join("softhsm").join("libsofthsm2.so"));
            }
        }
        candidates.push(Path::new(base).join("softhsm").join("libsofthsm2.so"));
        candidates.push(Path::new(base).join("libsofthsm2.so"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(DEFAULT))
}

/// Held while a tool writes to the token folder. Writes are serialised within the process:
/// `softhsm2-util --free` reads every token of the folder to find a free slot, and a token being
/// created or filled by another thread at that moment makes it fail (« Could not get info about
/// the token in slot … »).
fn writing_tokens() -> std::sync::MutexGuard<'static, ()> {
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A SoftHSM2 configuration with its own token directory.
#[derive(Debug, Clone)]
pub struct SoftHsm {
    pub dir: PathBuf,
    /// The `softhsm2.conf` to pass as `SOFTHSM2_CONF`.
    pub conf: PathBuf,
}

impl SoftHsm {
    /// Writes `dir/softhsm2.conf` (tokens in `dir/tokens`, file object
    /// store, log level ERROR). Creates nothing else: see
    /// [`SoftHsm::create_token`].
    ///
    /// The module reads `SOFTHSM2_CONF` once per process: to use this
    /// configuration in-process, set the variable before loading the module
    /// (or use [`SoftHsm::shared`]); subprocesses get it from [`SoftHsm::env`].
    pub fn new(dir: &Path) -> Result<SoftHsm, MockError> {
        let tokens = dir.join("tokens");
        create_dir_all(&tokens)?;
        let dir = dir
            .canonicalize()
            .map_err(|e| MockError::io(format!("resolving {}", dir.display()), e))?;
        let conf = dir.join("softhsm2.conf");
        write_file(
            &conf,
            format!(
                "# SoftHSM2 configuration for Paraphe tests (TEST ONLY tokens)\n\
                 directories.tokendir = {}\n\
                 objectstore.backend = file\n\
                 log.level = ERROR\n\
                 slots.removable = false\n",
                dir.join("tokens").display()
            ),
        )?;
        Ok(SoftHsm { dir, conf })
    }

    /// The SoftHSM of this test process, in a temporary directory kept for
    /// the process lifetime (`$TMPDIR/paraphe-test-softhsm-<pid>-XXXXXX`,
    /// swept by a later test process once this one is gone).
    ///
    /// On first call it also sets `SOFTHSM2_CONF` in this process's
    /// environment, so that SoftHSM loaded in-process (e.g. through
    /// `cryptoki`) sees the same tokens as the `softhsm2-util` /
    /// `pkcs11-tool` subprocesses. **Call it before loading the SoftHSM
    /// module anywhere in the process**: SoftHSM reads the variable once, at
    /// its first `C_Initialize`.
    ///
    /// # Panics
    /// If the directory or configuration cannot be written.
    pub fn shared() -> &'static SoftHsm {
        static SHARED: OnceLock<(tempfile::TempDir, SoftHsm)> = OnceLock::new();
        &SHARED
            .get_or_init(|| {
                let tmp = process_temp_dir("paraphe-test-softhsm-")
                    .expect("cannot create a temporary directory for SoftHSM");
                let hsm = SoftHsm::new(tmp.path())
                    .unwrap_or_else(|e| panic!("cannot configure SoftHSM: {e}"));
                // SAFETY: test helper. Setting the environment while other
                // threads read it is racy in glibc; this runs once, inside
                // the OnceLock initialiser, and the tests that need it call
                // `shared()` before loading any PKCS#11 module. Every
                // subprocess started by this crate also gets the variable
                // explicitly through `env()`.
                unsafe { std::env::set_var("SOFTHSM2_CONF", &hsm.conf) };
                (tmp, hsm)
            })
            .1
    }

    /// Environment to give to subprocesses: `[("SOFTHSM2_CONF", conf)]`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "SOFTHSM2_CONF".to_string(),
            self.conf.to_string_lossy().into_owned(),
        )]
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = tool(program);
        cmd.envs(self.env());
        cmd
    }

    /// Initialises a new token labelled `label` in the first free slot,
    /// user PIN `pin`, SO PIN [`SO_PIN`].
    pub fn create_token(&self, label: &str, pin: &str) -> Result<(), MockError> {
        let _one_at_a_time = writing_tokens();
        run(
            self.command("softhsm2-util")
                .args(["--init-token", "--free", "--label", label, "--pin", pin])
                .args(["--so-pin", SO_PIN]),
            None,
        )?;
        Ok(())
    }

    /// Writes `id`'s private key, public key and certificate to the token
    /// labelled `token_label` (CKA_ID = `id.cka_id`, CKA_LABEL = `id.name`).
    pub fn import(&self, token_label: &str, pin: &str, id: &Identity) -> Result<(), MockError> {
        let _one_at_a_time = writing_tokens();
        let module = softhsm_module();
        crate::pkcs11_tool::import(
            || {
                let mut cmd = self.command("pkcs11-tool");
                cmd.arg("--module")
                    .arg(&module)
                    .args(["--token-label", token_label]);
                cmd
            },
            pin,
            id,
        )
    }
}
