//! The opencryptoki software token (one per machine, behind the system
//! daemon `pkcsslotd`), reset from scratch for each test. TEST ONLY.
//!
//! Facts (opencryptoki 3.8, Debian 12), see README.md:
//! * the soft token (`libpkcs11_sw.so`) is slot 3 in the stock
//!   `/etc/opencryptoki/opencryptoki.conf`; its data lives in
//!   `/var/lib/opencryptoki/swtok/` (`NVTOK.DAT`, `MK_SO`, `MK_USER`,
//!   `TOK_OBJ/`) and is cached in the shared memory
//!   `/dev/shm/var.lib.opencryptoki.swtok`;
//! * a virgin token has SO PIN `87654321`; `C_InitToken` with any other SO
//!   PIN leaves the SO master key encrypted under the default PIN, and every
//!   later SO login fails with `CKR_FUNCTION_FAILED`: so we never re-init an
//!   initialised token, we wipe its files and start from the virgin state;
//! * user PIN lockout: 1 bad PIN → `USER_PIN_COUNT_LOW`, 2 →
//!   `USER_PIN_FINAL_TRY`, 3 → `USER_PIN_LOCKED` (the third answer is still
//!   `CKR_PIN_INCORRECT`, then `CKR_PIN_LOCKED`, even with the right PIN);
//! * no EC mechanism and no `CKM_SHA256_RSA_PKCS` on this token: sign with
//!   `CKM_RSA_PKCS` over a DigestInfo (or the PSS mechanisms); EC keys can
//!   be stored but `C_SignInit(CKM_ECDSA)` answers `CKR_MECHANISM_INVALID`.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{create_dir_all, lossy, run, tool};
use crate::{Identity, MockError, SO_PIN, USER_PIN};

/// SO PIN of a never-initialised opencryptoki soft token.
pub const OPENCRYPTOKI_DEFAULT_SO_PIN: &str = "87654321";
/// File locked (`flock`) while an [`Opencryptoki`] is alive.
pub const OPENCRYPTOKI_LOCK_FILE: &str = "/tmp/paraphe-opencryptoki.lock";

const CONF: &str = "/etc/opencryptoki/opencryptoki.conf";
const DATA_ROOT: &str = "/var/lib/opencryptoki";
const LOCK_ROOT: &str = "/var/lock/opencryptoki";
const SOFT_STDLL: &str = "libpkcs11_sw.so";
const DEFAULT_SLOT: u64 = 3;
const DAEMON: &str = "pkcsslotd";
const SOCKETS: [&str; 2] = ["/run/pkcsslotd.socket", "/var/run/pkcsslotd.socket"];

/// Path of the opencryptoki PKCS#11 module.
pub fn opencryptoki_module() -> PathBuf {
    const DEFAULT: &str = "/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so";
    let mut candidates = vec![PathBuf::from(DEFAULT)];
    if let Ok(rd) = std::fs::read_dir("/usr/lib") {
        for e in rd.flatten() {
            candidates.push(e.path().join("pkcs11").join("libopencryptoki.so"));
            candidates.push(e.path().join("opencryptoki").join("libopencryptoki.so"));
        }
    }
    candidates.push("/usr/lib64/opencryptoki/libopencryptoki.so".into());
    candidates.push("/usr/lib/opencryptoki/libopencryptoki.so".into());
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(DEFAULT))
}

thread_local! {
    static HELD_BY_THIS_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Exclusive use of the opencryptoki soft token, freshly initialised with
/// label `label`, SO PIN [`SO_PIN`] and user PIN [`USER_PIN`].
///
/// While alive it holds an exclusive `flock` on [`OPENCRYPTOKI_LOCK_FILE`]:
/// tests using the single system token are serialised, between threads of a
/// process as well as between processes. Drop it before acquiring again
/// (acquiring twice on one thread is an error rather than a deadlock).
#[derive(Debug)]
pub struct Opencryptoki {
    pub slot: u64,
    pub label: String,
    token_dir: PathBuf,
    _lock: File,
}

impl Opencryptoki {
    /// Waits for the lock, makes sure `pkcsslotd` runs (starting it if
    /// needed), wipes the soft token's data and initialises it again.
    /// Needs root (or membership of group `pkcs11` with write access to
    /// `/var/lib/opencryptoki`).
    pub fn acquire(label: &str) -> Result<Opencryptoki, MockError> {
        if label.is_empty() || label.len() > 32 {
            return Err(MockError::Setup(format!(
                "token label {label:?} must be 1 to 32 bytes long"
            )));
        }
        if HELD_BY_THIS_THREAD.with(Cell::get) {
            return Err(MockError::Setup(
                "this thread already holds the opencryptoki token: drop it before acquiring again"
                    .into(),
            ));
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o666)
            .open(OPENCRYPTOKI_LOCK_FILE)
            .map_err(|e| MockError::io(format!("opening {OPENCRYPTOKI_LOCK_FILE}"), e))?;
        flock_exclusive(&lock)
            .map_err(|e| MockError::io(format!("locking {OPENCRYPTOKI_LOCK_FILE}"), e))?;

        let (slot, tokname) = soft_token_slot()?;
        let token_dir = Path::new(DATA_ROOT).join(tokname.as_deref().unwrap_or("swtok"));
        ensure_dirs(&token_dir, tokname.as_deref().unwrap_or("swtok"))?;
        ensure_daemon()?;

        let this = Opencryptoki {
            slot,
            label: label.to_string(),
            token_dir,
            _lock: lock,
        };
        this.reset()?;
        HELD_BY_THIS_THREAD.with(|h| h.set(true));
        Ok(this)
    }

    /// Wipes the token and initialises it: label, SO PIN, user PIN.
    fn reset(&self) -> Result<(), MockError> {
        wipe_token_dir(&self.token_dir)?;
        let slot = self.slot.to_string();
        // -I prompts for the label on stdin.
        run(
            tool("pkcsconf").args(["-I", "-c", &slot, "-S", OPENCRYPTOKI_DEFAULT_SO_PIN]),
            Some(format!("{}\n", self.label).as_bytes()),
        )?;
        run(
            tool("pkcsconf").args([
                "-P",
                "-c",
                &slot,
                "-S",
                OPENCRYPTOKI_DEFAULT_SO_PIN,
                "-n",
                SO_PIN,
            ]),
            None,
        )?;
        run(
            tool("pkcsconf").args(["-u", "-c", &slot, "-S", SO_PIN, "-n", USER_PIN]),
            None,
        )?;
        let flags = self.token_flags()?;
        let ok = ["TOKEN_INITIALIZED", "USER_PIN_INITIALIZED"]
            .iter()
            .all(|f| flags.iter().any(|g| g == f))
            && !flags
                .iter()
                .any(|g| g.contains("LOCKED") || g.contains("TO_BE_CHANGED"));
        if !ok {
            return Err(MockError::Setup(format!(
                "opencryptoki slot {} not ready after initialisation, flags: {flags:?}",
                self.slot
            )));
        }
        Ok(())
    }

    /// The token's flags as `pkcsconf -t` names them, e.g.
    /// `["RNG", "LOGIN_REQUIRED", "USER_PIN_INITIALIZED", ...,
    /// "USER_PIN_LOCKED"]`.
    pub fn token_flags(&self) -> Result<Vec<String>, MockError> {
        let out = run(
            tool("pkcsconf").args(["-t", "-c", &self.slot.to_string()]),
            None,
        )?;
        let text = lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("Flags:"))
            .ok_or_else(|| MockError::Setup(format!("no Flags line in pkcsconf -t:\n{text}")))?;
        let inner = line
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(i, _)| i)
            .unwrap_or("");
        Ok(inner
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }

    /// A `pkcs11-tool` command already pointed at this token
    /// (`--module <opencryptoki> --slot <slot>`).
    pub fn pkcs11_tool(&self) -> Command {
        let mut cmd = tool("pkcs11-tool");
        cmd.arg("--module")
            .arg(opencryptoki_module())
            .args(["--slot", &self.slot.to_string()]);
        cmd
    }

    /// Writes `id`'s private key, public key and certificate (CKA_ID =
    /// `id.cka_id`, CKA_LABEL = `id.name`), as [`crate::SoftHsm::import`].
    /// EC keys are stored too, but this token cannot use them: signing
    /// with `CKM_ECDSA` fails with `CKR_MECHANISM_INVALID`.
    pub fn import(&self, pin: &str, id: &Identity) -> Result<(), MockError> {
        crate::pkcs11_tool::import(|| self.pkcs11_tool(), pin, id)
    }
}

impl Drop for Opencryptoki {
    fn drop(&mut self) {
        HELD_BY_THIS_THREAD.with(|h| h.set(false));
        // The flock goes with the file.
    }
}

/// Blocking exclusive `flock(2)`. Two descriptions of the same file conflict
/// even inside one process, so this serialises threads too.
fn flock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: plain syscall on a descriptor that `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Slot number and `tokname` of the soft token in opencryptoki.conf
/// (slot 3 when the file cannot be read).
fn soft_token_slot() -> Result<(u64, Option<String>), MockError> {
    let Ok(text) = std::fs::read_to_string(CONF) else {
        return Ok((DEFAULT_SLOT, None));
    };
    Ok(parse_conf(&text).unwrap_or((DEFAULT_SLOT, None)))
}

fn parse_conf(text: &str) -> Option<(u64, Option<String>)> {
    let mut slot: Option<u64> = None;
    let mut is_soft = false;
    let mut tokname = None;
    let mut found = None;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if let Some(rest) = line.strip_prefix("slot") {
            if is_soft && found.is_none() {
                found = slot.map(|s| (s, tokname.clone()));
            }
            slot = rest.trim().trim_end_matches('{').trim().parse().ok();
            is_soft = false;
            tokname = None;
        } else if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "stdll" => is_soft = v.trim() == SOFT_STDLL,
                "tokname" => tokname = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    if is_soft && found.is_none() {
        found = slot.map(|s| (s, tokname));
    }
    found
}

fn pkcs11_gid() -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split(':');
        (it.next()? == "pkcs11").then_some(())?;
        it.next()?;
        it.next()?.parse().ok()
    })
}

/// Creates a directory owned by root:pkcs11, mode 0770, if missing (what
/// the init script and tmpfiles.d do on a booted system).
fn ensure_group_dir(dir: &Path) -> Result<(), MockError> {
    if dir.is_dir() {
        return Ok(());
    }
    create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o770))
        .map_err(|e| MockError::io(format!("chmod {}", dir.display()), e))?;
    if let Some(gid) = pkcs11_gid() {
        std::os::unix::fs::chown(dir, Some(0), Some(gid))
            .map_err(|e| MockError::io(format!("chown {}", dir.display()), e))?;
    }
    Ok(())
}

fn ensure_dirs(token_dir: &Path, tokname: &str) -> Result<(), MockError> {
    ensure_group_dir(Path::new(LOCK_ROOT))?;
    ensure_group_dir(&Path::new(LOCK_ROOT).join(tokname))?;
    ensure_group_dir(Path::new(DATA_ROOT))?;
    ensure_group_dir(token_dir)?;
    ensure_group_dir(&token_dir.join("TOK_OBJ"))?;
    Ok(())
}

/// Removes everything the token stored, back to the never-initialised
/// state: files of the token directory, token objects, shared memory.
fn wipe_token_dir(token_dir: &Path) -> Result<(), MockError> {
    let rd = std::fs::read_dir(token_dir)
        .map_err(|e| MockError::io(format!("reading {}", token_dir.display()), e))?;
    for entry in rd.flatten() {
        let p = entry.path();
        let res = if entry.file_name() == "TOK_OBJ" {
            empty_dir(&p)
        } else if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        res.map_err(|e| MockError::io(format!("removing {}", p.display()), e))?;
    }
    // Same name as opencryptoki's convert_path_to_shm_name().
    let shm_name = token_dir
        .to_string_lossy()
        .trim_start_matches('/')
        .replace('/', ".");
    let shm = Path::new("/dev/shm").join(shm_name);
    match std::fs::remove_file(&shm) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(MockError::io(format!("removing {}", shm.display()), e)),
    }
}

fn empty_dir(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// True if a live (non-zombie) `pkcsslotd` process exists.
fn daemon_running() -> bool {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    rd.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .any(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // "<pid> (<comm>) <state> ..."
            match (stat.find('('), stat.rfind(')')) {
                (Some(a), Some(b)) if a < b => {
                    &stat[a + 1..b] == DAEMON && !stat[b + 1..].trim_start().starts_with('Z')
                }
                _ => false,
            }
        })
}

fn socket_present() -> bool {
    SOCKETS.iter().any(|s| Path::new(s).exists())
}

/// Starts `pkcsslotd` if it is not running and waits for its socket.
fn ensure_daemon() -> Result<(), MockError> {
    if daemon_running() && socket_present() {
        return Ok(());
    }
    if !daemon_running() {
        // A stale socket from a killed daemon: remove it so that we can
        // wait for the new one.
        for s in SOCKETS {
            let _ = std::fs::remove_file(s);
        }
        // pkcsslotd daemonises itself: the command returns at once.
        run(&mut tool(DAEMON), None)?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if daemon_running() && socket_present() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(MockError::Setup(format!(
        "{DAEMON} did not come up within 10 s (no process or no socket in {SOCKETS:?}); \
         it needs root or group pkcs11"
    )))
}

#[cfg(test)]
mod tests {
    use super::parse_conf;

    #[test]
    fn finds_soft_slot() {
        let conf = "version opencryptoki-3.1\n\nslot 0\n{\nstdll = libpkcs11_tpm.so\n}\n\
                    slot 3\n{\nstdll = libpkcs11_sw.so # soft\n}\n\
                    slot 4 {\nstdll = libpkcs11_ep11.so\nconfname = ep11tok.conf\n}\n";
        assert_eq!(parse_conf(conf), Some((3, None)));
        let conf = "slot 7 {\n stdll = libpkcs11_sw.so\n tokname = mysw\n}\n";
        assert_eq!(parse_conf(conf), Some((7, Some("mysw".into()))));
        assert_eq!(parse_conf("slot 1 {\nstdll = libpkcs11_ica.so\n}"), None);
    }
}
