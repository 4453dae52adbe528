//! State of one initialised proxy: its configuration, the real module's function list and the
//! mutable bookkeeping the injected faults need (counters, sessions, remembered PIN).
//!
//! The state lives in globals of this shared object, so every copy of the `.so` loaded under
//! another path has its own, independent instance.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ffi::c_void;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use cryptoki_sys::*;
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Number of wrong user PINs after which the proxy locks the PIN, like most smart cards.
pub const MAX_PIN_TRIES: u32 = 3;

/// The current instance; `None` between `C_Finalize` and the next `C_Initialize`.
static CURRENT: RwLock<Option<Arc<Instance>>> = RwLock::new(None);

/// What survives across processes when `state_file` is set, as a real card keeps its PIN
/// counter and stays out of the reader between two runs of a command-line tool.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    /// Consecutive wrong user PINs (capped at [`MAX_PIN_TRIES`]).
    pub pin_failures: u32,
    /// Successful `C_Sign`/`C_SignFinal`/`C_Decrypt`/`C_DecryptFinal` so far.
    pub ops_succeeded: u64,
    /// Slots whose token has been "removed".
    pub removed_slots: BTreeSet<CK_SLOT_ID>,
}

/// A signature operation in progress, for `always_authenticate`.
#[derive(Debug, Clone, Copy)]
pub struct SignOp {
    /// The key is a signing private key, so the proxy demands a context-specific login.
    pub needs_context_login: bool,
    /// A correct `C_Login(CKU_CONTEXT_SPECIFIC)` happened since `C_SignInit`.
    pub context_logged_in: bool,
}

/// A session opened through this instance.
#[derive(Debug, Clone)]
pub struct Session {
    pub slot: CK_SLOT_ID,
    pub sign: Option<SignOp>,
}

#[derive(Debug, Default)]
pub struct MutState {
    pub stats: BTreeMap<String, u64>,
    pub persisted: Persisted,
    /// PIN of the last successful `CKU_USER` login, to check context-specific logins
    /// ourselves (test-only module: the real module usually refuses `CKU_CONTEXT_SPECIFIC`).
    pub user_pin: Option<Vec<u8>>,
    pub sessions: HashMap<CK_SESSION_HANDLE, Session>,
    /// Removals not yet reported through `C_WaitForSlotEvent`.
    pub slot_events: VecDeque<CK_SLOT_ID>,
}

pub struct Instance {
    pub cfg: Config,
    /// The real module's function list; the module is never unloaded, hence `'static`.
    pub funcs: &'static CK_FUNCTION_LIST,
    state: Mutex<MutState>,
    /// Set once a stats/state write failed, so the warning is printed once, not per call.
    write_warned: AtomicBool,
}

/// Returns the current instance, if the proxy is initialised.
pub fn current() -> Option<Arc<Instance>> {
    CURRENT
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// `C_Initialize`: reads the configuration, loads and initialises the real module.
pub fn initialize(init_args: *mut c_void) -> CK_RV {
    let mut current = CURRENT.write().unwrap_or_else(PoisonError::into_inner);
    if current.is_some() {
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    }
    let cfg = match Config::locate_and_load() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("paraphe-p11-proxy: {e}");
            return CKR_GENERAL_ERROR;
        }
    };
    let funcs = match load_module(&cfg.module) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("paraphe-p11-proxy: {e}");
            return CKR_GENERAL_ERROR;
        }
    };
    let inst = Instance::new(cfg, funcs);
    let rv = forward!(inst, C_Initialize(init_args));
    // Another proxy copy (or the application itself) may already have initialised the same
    // real module in this process: for us that is as good as success.
    if rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED {
        eprintln!(
            "paraphe-p11-proxy: C_Initialize of {} failed: {rv:#x}",
            inst.cfg.module.display()
        );
        return rv;
    }
    inst.count("C_Initialize");
    inst.flush_stats();
    *current = Some(Arc::new(inst));
    CKR_OK
}

/// `C_Finalize`: forgets the instance. The real module is deliberately not finalised, as other
/// proxy copies in the same process may still be using it; the sessions this instance opened
/// are closed instead, so that they do not leak into the next initialisation.
pub fn finalize() -> CK_RV {
    let Some(inst) = CURRENT
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    else {
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    };
    inst.count("C_Finalize");
    let handles: Vec<_> = inst.lock().sessions.drain().map(|(h, _)| h).collect();
    for h in handles {
        call_real!(inst, C_CloseSession(h));
    }
    inst.flush_stats();
    CKR_OK
}

fn load_module(path: &Path) -> Result<&'static CK_FUNCTION_LIST, String> {
    type GetFunctionList = unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV;
    // SAFETY: loading a PKCS#11 module runs its initialisers, which is what any PKCS#11
    // consumer does; the configuration names a PKCS#11 module.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load module {}: {e}", path.display()))?;
    // SAFETY: every PKCS#11 module exports C_GetFunctionList with exactly this signature.
    let get: GetFunctionList = *unsafe { lib.get::<GetFunctionList>(b"C_GetFunctionList\0") }
        .map_err(|e| format!("{} is not a PKCS#11 module: {e}", path.display()))?;
    let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
    // SAFETY: `list` is writable storage for one pointer, as C_GetFunctionList requires.
    let rv = unsafe { get(&mut list) };
    if rv != CKR_OK || list.is_null() {
        return Err(format!(
            "C_GetFunctionList of {} failed: {rv:#x}",
            path.display()
        ));
    }
    if std::ptr::eq(list, &raw const crate::FUNCTION_LIST) {
        return Err(format!("module {} is this proxy itself", path.display()));
    }
    // Never unload: the real module may stay initialised after our C_Finalize (see `finalize`)
    // and other copies may share it, so unloading it under them would be fatal.
    std::mem::forget(lib);
    // SAFETY: the list is static data inside the module, which is now never unloaded.
    Ok(unsafe { &*list })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that a reader (the test
/// checking the stats) never sees a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Reads a JSON file written by an earlier instance or process, if any.
fn read_json<T: for<'de> Deserialize<'de>>(path: Option<&Path>) -> Option<T> {
    let bytes = std::fs::read(path?).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!(
                "paraphe-p11-proxy: ignoring unreadable {}: {e}",
                path?.display()
            );
            None
        }
    }
}

impl Instance {
    fn new(cfg: Config, funcs: &'static CK_FUNCTION_LIST) -> Instance {
        // Counters accumulate across initialisations and processes that share a stats file,
        // so that a test can run several pkcs11-tool commands and check the totals.
        let stats = read_json(cfg.stats_file.as_deref()).unwrap_or_default();
        let persisted = read_json(cfg.state_file.as_deref()).unwrap_or_default();
        Instance {
            cfg,
            funcs,
            state: Mutex::new(MutState {
                stats,
                persisted,
                ..MutState::default()
            }),
            write_warned: AtomicBool::new(false),
        }
    }

    /// The mutable state. A panic caught at the FFI boundary may have poisoned the lock; the
    /// state is still usable (plain counters), so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, MutState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps for `latency_ms`, to simulate a slow card.
    pub fn delay(&self) {
        if !self.cfg.latency.is_zero() {
            std::thread::sleep(self.cfg.latency);
        }
    }

    /// Counts one call under `key` in the statistics.
    pub fn count(&self, key: &str) {
        *self.lock().stats.entry(key.to_owned()).or_default() += 1;
    }

    fn warn_write(&self, what: &Path, e: io::Error) {
        if !self.write_warned.swap(true, Ordering::Relaxed) {
            eprintln!("paraphe-p11-proxy: cannot write {}: {e}", what.display());
        }
    }

    /// Rewrites the stats file, if configured.
    pub fn flush_stats(&self) {
        let Some(path) = &self.cfg.stats_file else {
            return;
        };
        // The lock is held during the write so that two threads cannot rename an older
        // snapshot over a newer one.
        let st = self.lock();
        let json = serde_json::to_vec_pretty(&st.stats).unwrap_or_default();
        if let Err(e) = write_atomically(path, &json) {
            self.warn_write(path, e);
        }
    }

    /// Rewrites the state file, if configured. Called with the state locked.
    fn save_persisted(&self, persisted: &Persisted) {
        let Some(path) = &self.cfg.state_file else {
            return;
        };
        let json = serde_json::to_vec_pretty(persisted).unwrap_or_default();
        if let Err(e) = write_atomically(path, &json) {
            self.warn_write(path, e);
        }
    }

    /// Whether the token of `slot` counts as removed.
    pub fn slot_removed_locked(&self, st: &MutState, slot: CK_SLOT_ID) -> bool {
        // `remove_after_ops = 0` means "removed before any operation": every slot is empty.
        self.cfg.remove_after_ops == Some(0) || st.persisted.removed_slots.contains(&slot)
    }

    pub fn slot_removed(&self, slot: CK_SLOT_ID) -> bool {
        self.slot_removed_locked(&self.lock(), slot)
    }

    /// Whether any token is removed, to skip the slow path of `C_GetSlotList` otherwise.
    pub fn any_removed(&self) -> bool {
        self.cfg.remove_after_ops == Some(0) || !self.lock().persisted.removed_slots.is_empty()
    }

    /// The error a call on `session` returns because its token is removed, if it is.
    pub fn session_removed(&self, session: CK_SESSION_HANDLE) -> Option<CK_RV> {
        let st = self.lock();
        let slot = st.sessions.get(&session)?.slot;
        self.slot_removed_locked(&st, slot)
            .then_some(self.cfg.removal_error.rv())
    }

    /// Records one completed signature or decryption on `session`; once `remove_after_ops`
    /// of them have succeeded, the token of that session's slot is removed.
    pub fn op_succeeded(&self, session: CK_SESSION_HANDLE) {
        let mut st = self.lock();
        st.persisted.ops_succeeded += 1;
        if let Some(limit) = self.cfg.remove_after_ops
            && st.persisted.ops_succeeded >= limit
            && let Some(slot) = st.sessions.get(&session).map(|s| s.slot)
            && st.persisted.removed_slots.insert(slot)
        {
            st.slot_events.push_back(slot);
        }
        self.save_persisted(&st.persisted);
    }

    /// Whether the user PIN is locked by the proxy's own counter.
    pub fn pin_locked(&self) -> bool {
        self.cfg.pin_lockout && self.lock().persisted.pin_failures >= MAX_PIN_TRIES
    }

    /// Updates the PIN counter after a user or context-specific login returned `rv`.
    pub fn note_pin_result(&self, rv: CK_RV) {
        if !self.cfg.pin_lockout {
            return;
        }
        let mut st = self.lock();
        let before = st.persisted.pin_failures;
        match rv {
            CKR_PIN_INCORRECT => {
                st.persisted.pin_failures = (before + 1).min(MAX_PIN_TRIES);
            }
            CKR_OK => st.persisted.pin_failures = 0,
            _ => {}
        }
        if st.persisted.pin_failures != before {
            self.save_persisted(&st.persisted);
        }
    }

    /// Resets the PIN counter (the SO set a new user PIN, or the token was re-initialised).
    pub fn reset_pin_counter(&self) {
        if self.cfg.pin_lockout {
            self.note_pin_result(CKR_OK);
        }
    }

    /// Token flags as the PIN counter makes them look.
    pub fn pin_flags(&self, flags: CK_FLAGS) -> CK_FLAGS {
        if !self.cfg.pin_lockout {
            return flags;
        }
        let failures = self.lock().persisted.pin_failures;
        // The real module's own idea of these bits (SoftHSM sets COUNT_LOW after a wrong PIN
        // but never locks) is replaced by the proxy's counter.
        let cleared =
            flags & !(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
        cleared
            | match failures {
                0 => 0,
                1 => CKF_USER_PIN_COUNT_LOW,
                2 => CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY,
                _ => CKF_USER_PIN_LOCKED,
            }
    }
}
