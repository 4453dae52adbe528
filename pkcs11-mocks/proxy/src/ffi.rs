//! The PKCS#11 entry points. Most forward verbatim; the others implement the faults.
//!
//! Every body runs inside [`guard`], so that no panic unwinds into the C consumer.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::null_mut;

use cryptoki_sys::*;

use crate::instance::{self, Instance, SignOp};

/// Runs `body`, turning a panic into `CKR_GENERAL_ERROR` (the panic message itself has already
/// been printed on stderr by the panic hook).
pub(crate) fn guard(body: impl FnOnce() -> CK_RV) -> CK_RV {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(CKR_GENERAL_ERROR)
}

/// Common prologue and epilogue of the entry points that need an initialised proxy: count the
/// call under `name`, run it, then rewrite the stats file.
fn entry(name: &'static str, body: impl FnOnce(&Instance) -> CK_RV) -> CK_RV {
    guard(|| {
        let Some(inst) = instance::current() else {
            return CKR_CRYPTOKI_NOT_INITIALIZED;
        };
        inst.count(name);
        let rv = body(&inst);
        inst.flush_stats();
        rv
    })
}

/// Session functions without any fault of their own: refused once the token is removed,
/// forwarded otherwise.
macro_rules! session_passthrough {
    ($( $f:ident ( $($arg:ident : $ty:ty),* ); )*) => {$(
        pub(crate) unsafe extern "C" fn $f(session: CK_SESSION_HANDLE $(, $arg: $ty)*) -> CK_RV {
            entry(stringify!($f), |inst| {
                if let Some(rv) = inst.session_removed(session) {
                    return rv;
                }
                forward!(inst, $f(session $(, $arg)*))
            })
        }
    )*};
}

/// `*Init` functions subject to `only_mechanisms`.
macro_rules! mechanism_init_passthrough {
    ($( $f:ident ( $($arg:ident : $ty:ty),* ); )*) => {$(
        pub(crate) unsafe extern "C" fn $f(
            session: CK_SESSION_HANDLE,
            mechanism: *mut CK_MECHANISM
            $(, $arg: $ty)*
        ) -> CK_RV {
            entry(stringify!($f), |inst| {
                if let Some(rv) = inst.session_removed(session) {
                    return rv;
                }
                if mechanism_refused(inst, mechanism) {
                    return CKR_MECHANISM_INVALID;
                }
                forward!(inst, $f(session, mechanism $(, $arg)*))
            })
        }
    )*};
}

session_passthrough! {
    C_SetPIN(old: *mut CK_UTF8CHAR, old_len: CK_ULONG, new: *mut CK_UTF8CHAR, new_len: CK_ULONG);
    C_GetSessionInfo(info: *mut CK_SESSION_INFO);
    C_GetOperationState(state: *mut CK_BYTE, state_len: *mut CK_ULONG);
    C_SetOperationState(
        state: *mut CK_BYTE,
        state_len: CK_ULONG,
        enc_key: CK_OBJECT_HANDLE,
        auth_key: CK_OBJECT_HANDLE
    );
    C_CreateObject(template: *mut CK_ATTRIBUTE, count: CK_ULONG, object: *mut CK_OBJECT_HANDLE);
    C_CopyObject(
        object: CK_OBJECT_HANDLE,
        template: *mut CK_ATTRIBUTE,
        count: CK_ULONG,
        new_object: *mut CK_OBJECT_HANDLE
    );
    C_DestroyObject(object: CK_OBJECT_HANDLE);
    C_GetObjectSize(object: CK_OBJECT_HANDLE, size: *mut CK_ULONG);
    C_SetAttributeValue(object: CK_OBJECT_HANDLE, template: *mut CK_ATTRIBUTE, count: CK_ULONG);
    C_FindObjectsInit(template: *mut CK_ATTRIBUTE, count: CK_ULONG);
    C_FindObjects(objects: *mut CK_OBJECT_HANDLE, max: CK_ULONG, found: *mut CK_ULONG);
    C_FindObjectsFinal();
    C_Encrypt(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_EncryptUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_EncryptFinal(out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DecryptUpdate(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_Digest(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DigestUpdate(data: *mut CK_BYTE, len: CK_ULONG);
    C_DigestKey(key: CK_OBJECT_HANDLE);
    C_DigestFinal(out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_SignRecover(data: *mut CK_BYTE, len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_Verify(data: *mut CK_BYTE, len: CK_ULONG, sig: *mut CK_BYTE, sig_len: CK_ULONG);
    C_VerifyUpdate(data: *mut CK_BYTE, len: CK_ULONG);
    C_VerifyFinal(sig: *mut CK_BYTE, sig_len: CK_ULONG);
    C_VerifyRecover(sig: *mut CK_BYTE, sig_len: CK_ULONG, out: *mut CK_BYTE, out_len: *mut CK_ULONG);
    C_DigestEncryptUpdate(
        data: *mut CK_BYTE,
        len: CK_ULONG,
        out: *mut CK_BYTE,
        out_len: *mut CK_ULONG
    );
    C_DecryptDigestUpdate(
        data: *mut CK_BYTE,
        len: CK_ULONG,
        out: *mut CK_BYTE,
        out_len: *mut CK_ULONG
    );
    C_SignEncryptUpdate(
        data: *mut CK_BYTE,
        len: CK_ULONG,
        out: *mut CK_BYTE,
        out_len: *mut CK_ULONG
    );
    C_DecryptVerifyUpdate(
        data: *mut CK_BYTE,
        len: CK_ULONG,
        out: *mut CK_BYTE,
        out_len: *mut CK_ULONG
    );
    C_GenerateKey(
        mechanism: *mut CK_MECHANISM,
        template: *mut CK_ATTRIBUTE,
        count: CK_ULONG,
        key: *mut CK_OBJECT_HANDLE
    );
    C_GenerateKeyPair(
        mechanism: *mut CK_MECHANISM,
        pub_template: *mut CK_ATTRIBUTE,
        pub_count: CK_ULONG,
        priv_template: *mut CK_ATTRIBUTE,
        priv_count: CK_ULONG,
        pub_key: *mut CK_OBJECT_HANDLE,
        priv_key: *mut CK_OBJECT_HANDLE
    );
    C_WrapKey(
        mechanism: *mut CK_MECHANISM,
        wrapping_key: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
        out: *mut CK_BYTE,
        out_len: *mut CK_ULONG
    );
    C_UnwrapKey(
        mechanism: *mut CK_MECHANISM,
        unwrapping_key: CK_OBJECT_HANDLE,
        wrapped: *mut CK_BYTE,
        wrapped_len: CK_ULONG,
        template: *mut CK_ATTRIBUTE,
        count: CK_ULONG,
        key: *mut CK_OBJECT_HANDLE
    );
    C_DeriveKey(
        mechanism: *mut CK_MECHANISM,
        base_key: CK_OBJECT_HANDLE,
        template: *mut CK_ATTRIBUTE,
        count: CK_ULONG,
        key: *mut CK_OBJECT_HANDLE
    );
    C_SeedRandom(seed: *mut CK_BYTE, len: CK_ULONG);
    C_GenerateRandom(out: *mut CK_BYTE, len: CK_ULONG);
    C_GetFunctionStatus();
    C_CancelFunction();
}

mechanism_init_passthrough! {
    C_EncryptInit(key: CK_OBJECT_HANDLE);
    C_DecryptInit(key: CK_OBJECT_HANDLE);
    C_DigestInit();
    C_VerifyInit(key: CK_OBJECT_HANDLE);
    C_SignRecoverInit(key: CK_OBJECT_HANDLE);
    C_VerifyRecoverInit(key: CK_OBJECT_HANDLE);
}

/// Whether `only_mechanisms` forbids the mechanism `mechanism` points to.
fn mechanism_refused(inst: &Instance, mechanism: *const CK_MECHANISM) -> bool {
    if inst.cfg.only_mechanisms.is_none() || mechanism.is_null() {
        // A null mechanism is the real module's business (CKR_ARGUMENTS_BAD).
        return false;
    }
    // SAFETY: non-null, and PKCS#11 requires it to point to a CK_MECHANISM.
    let mech = unsafe { (*mechanism).mechanism };
    !inst.cfg.mechanism_allowed(mech)
}

/// Fetches a whole list through the usual two-call PKCS#11 convention (size, then content),
/// retrying if the list grew in between.
fn fetch_list<T: Copy + Default>(
    mut call: impl FnMut(*mut T, *mut CK_ULONG) -> CK_RV,
) -> Result<Vec<T>, CK_RV> {
    loop {
        let mut n: CK_ULONG = 0;
        let rv = call(null_mut(), &mut n);
        if rv != CKR_OK {
            return Err(rv);
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut items = vec![T::default(); n as usize];
        match call(items.as_mut_ptr(), &mut n) {
            CKR_OK => {
                items.truncate(n as usize);
                return Ok(items);
            }
            CKR_BUFFER_TOO_SMALL => continue,
            rv => return Err(rv),
        }
    }
}

/// Returns `items` to the consumer with the two-call convention.
///
/// # Safety
///
/// `count` must be valid for reads and writes; `out`, if non-null, must have room for
/// `*count` elements.
unsafe fn fill_list<T: Copy>(items: &[T], out: *mut T, count: *mut CK_ULONG) -> CK_RV {
    // SAFETY: `count` is valid per this function's contract.
    let room = unsafe { *count };
    // SAFETY: as above.
    unsafe { *count = items.len() as CK_ULONG };
    if out.is_null() {
        return CKR_OK;
    }
    if (room as usize) < items.len() {
        return CKR_BUFFER_TOO_SMALL;
    }
    // SAFETY: `out` has room for `room >= items.len()` elements, and the proxy's vector cannot
    // overlap the consumer's buffer.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    CKR_OK
}

/// Copies `text` into a blank-padded PKCS#11 string field.
fn padded<const N: usize>(text: &str) -> [CK_UTF8CHAR; N] {
    let mut out = [b' '; N];
    let len = text.len().min(N);
    out[..len].copy_from_slice(&text.as_bytes()[..len]);
    out
}

// ---------------------------------------------------------------------------------------------
// General purpose

pub(crate) unsafe extern "C" fn C_Initialize(init_args: *mut c_void) -> CK_RV {
    guard(|| instance::initialize(init_args))
}

pub(crate) unsafe extern "C" fn C_Finalize(reserved: *mut c_void) -> CK_RV {
    guard(|| {
        if !reserved.is_null() {
            return CKR_ARGUMENTS_BAD;
        }
        instance::finalize()
    })
}

pub(crate) unsafe extern "C" fn C_GetInfo(info: *mut CK_INFO) -> CK_RV {
    entry("C_GetInfo", |inst| {
        if info.is_null() {
            return CKR_ARGUMENTS_BAD;
        }
        let rv = forward!(inst, C_GetInfo(info));
        if rv != CKR_OK {
            return rv;
        }
        // SAFETY: non-null, and just filled by the real module: a valid CK_INFO of the caller's.
        let info = unsafe { &mut *info };
        // The consumer must be able to tell it talks to the proxy (and the proxy speaks 2.40,
        // whatever the real module does).
        info.cryptokiVersion = CK_VERSION {
            major: 2,
            minor: 40,
        };
        info.libraryDescription = padded("Paraphe test proxy");
        info.libraryVersion = CK_VERSION { major: 0, minor: 1 };
        CKR_OK
    })
}

// ---------------------------------------------------------------------------------------------
// Slots and tokens

pub(crate) unsafe extern "C" fn C_GetSlotList(
    token_present: CK_BBOOL,
    list: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    entry("C_GetSlotList", |inst| {
        if token_present == CK_FALSE || !inst.any_removed() {
            return forward!(inst, C_GetSlotList(token_present, list, count));
        }
        if count.is_null() {
            return CKR_ARGUMENTS_BAD;
        }
        inst.delay();
        let slots = match fetch_list(|buf, n| call_real!(inst, C_GetSlotList(CK_TRUE, buf, n))) {
            Ok(s) => s,
            Err(rv) => return rv,
        };
        let present: Vec<_> = slots
            .into_iter()
            .filter(|s| !inst.slot_removed(*s))
            .collect();
        // SAFETY: `count` is non-null and `list` is the consumer's buffer of `*count` slots,
        // per the PKCS#11 contract of C_GetSlotList.
        unsafe { fill_list(&present, list, count) }
    })
}

pub(crate) unsafe extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    entry("C_GetSlotInfo", |inst| {
        let rv = forward!(inst, C_GetSlotInfo(slot, info));
        if rv == CKR_OK && !info.is_null() && inst.slot_removed(slot) {
            // SAFETY: non-null and just filled by the real module.
            unsafe { (*info).flags &= !CKF_TOKEN_PRESENT };
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_GetTokenInfo(
    slot: CK_SLOT_ID,
    info: *mut CK_TOKEN_INFO,
) -> CK_RV {
    entry("C_GetTokenInfo", |inst| {
        if inst.slot_removed(slot) {
            return CKR_TOKEN_NOT_PRESENT;
        }
        let rv = forward!(inst, C_GetTokenInfo(slot, info));
        if rv == CKR_OK && !info.is_null() {
            // SAFETY: non-null and just filled by the real module.
            let info = unsafe { &mut *info };
            info.flags = inst.pin_flags(info.flags);
            if inst.cfg.pinpad_pin.is_some() {
                info.flags |= cryptoki_sys::CKF_PROTECTED_AUTHENTICATION_PATH;
            }
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_GetMechanismList(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    entry("C_GetMechanismList", |inst| {
        if inst.slot_removed(slot) {
            return CKR_TOKEN_NOT_PRESENT;
        }
        if inst.cfg.only_mechanisms.is_none() {
            return forward!(inst, C_GetMechanismList(slot, list, count));
        }
        if count.is_null() {
            return CKR_ARGUMENTS_BAD;
        }
        inst.delay();
        let all = match fetch_list(|buf, n| call_real!(inst, C_GetMechanismList(slot, buf, n))) {
            Ok(m) => m,
            Err(rv) => return rv,
        };
        let allowed: Vec<_> = all
            .into_iter()
            .filter(|m| inst.cfg.mechanism_allowed(*m))
            .collect();
        // SAFETY: `count` is non-null and `list` is the consumer's buffer of `*count`
        // mechanisms, per the PKCS#11 contract of C_GetMechanismList.
        unsafe { fill_list(&allowed, list, count) }
    })
}

pub(crate) unsafe extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    mechanism: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    entry("C_GetMechanismInfo", |inst| {
        if inst.slot_removed(slot) {
            return CKR_TOKEN_NOT_PRESENT;
        }
        if !inst.cfg.mechanism_allowed(mechanism) {
            return CKR_MECHANISM_INVALID;
        }
        forward!(inst, C_GetMechanismInfo(slot, mechanism, info))
    })
}

pub(crate) unsafe extern "C" fn C_InitToken(
    slot: CK_SLOT_ID,
    so_pin: *mut CK_UTF8CHAR,
    so_pin_len: CK_ULONG,
    label: *mut CK_UTF8CHAR,
) -> CK_RV {
    entry("C_InitToken", |inst| {
        if inst.slot_removed(slot) {
            return CKR_TOKEN_NOT_PRESENT;
        }
        let rv = forward!(inst, C_InitToken(slot, so_pin, so_pin_len, label));
        if rv == CKR_OK {
            // A fresh token has a fresh PIN counter.
            inst.reset_pin_counter();
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_InitPIN(
    session: CK_SESSION_HANDLE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    entry("C_InitPIN", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        let rv = forward!(inst, C_InitPIN(session, pin, pin_len));
        if rv == CKR_OK {
            // The SO setting a new user PIN unblocks it, as on a card.
            inst.reset_pin_counter();
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_WaitForSlotEvent(
    flags: CK_FLAGS,
    slot: *mut CK_SLOT_ID,
    reserved: *mut c_void,
) -> CK_RV {
    entry("C_WaitForSlotEvent", |inst| {
        // A removal is an event a consumer may be polling for.
        let event = inst.lock().slot_events.pop_front();
        match event {
            Some(_) if slot.is_null() => CKR_ARGUMENTS_BAD,
            Some(removed) => {
                // SAFETY: non-null, the consumer's storage for one slot ID.
                unsafe { *slot = removed };
                CKR_OK
            }
            None => forward!(inst, C_WaitForSlotEvent(flags, slot, reserved)),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Sessions and login

pub(crate) unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    application: *mut c_void,
    notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    entry("C_OpenSession", |inst| {
        if inst.slot_removed(slot) {
            return CKR_TOKEN_NOT_PRESENT;
        }
        let rv = forward!(
            inst,
            C_OpenSession(slot, flags, application, notify, session)
        );
        if rv == CKR_OK && !session.is_null() {
            // SAFETY: non-null, just written by the real module.
            let handle = unsafe { *session };
            inst.lock()
                .sessions
                .insert(handle, instance::Session { slot, sign: None });
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_CloseSession(session: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_CloseSession", |inst| {
        if inst.session_removed(session).is_some() {
            // The session is gone with the card; closing it must still succeed, since
            // consumers (pkcs11-tool among them) treat a failed close as fatal. The real
            // session is closed so that it does not linger in the real module.
            inst.lock().sessions.remove(&session);
            call_real!(inst, C_CloseSession(session));
            return CKR_OK;
        }
        let rv = forward!(inst, C_CloseSession(session));
        if matches!(rv, CKR_OK | CKR_SESSION_HANDLE_INVALID | CKR_SESSION_CLOSED) {
            inst.lock().sessions.remove(&session);
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    entry("C_CloseAllSessions", |inst| {
        // Only this instance's sessions: another proxy copy sharing the real module has its
        // own, which a real module's C_CloseAllSessions would close too.
        let mine: Vec<_> = {
            let mut st = inst.lock();
            let handles: Vec<_> = st
                .sessions
                .iter()
                .filter(|(_, s)| s.slot == slot)
                .map(|(h, _)| *h)
                .collect();
            for h in &handles {
                st.sessions.remove(h);
            }
            handles
        };
        // After a removal this still succeeds, like C_CloseSession: cleanup must not fail.
        if !inst.slot_removed(slot) {
            inst.delay();
        }
        for h in mine {
            call_real!(inst, C_CloseSession(h));
        }
        CKR_OK
    })
}

/// Key under which a login of `user_type` is counted, besides `C_Login`.
fn login_stat(user_type: CK_USER_TYPE) -> &'static str {
    match user_type {
        CKU_SO => "C_Login_so",
        CKU_USER => "C_Login_user",
        CKU_CONTEXT_SPECIFIC => "C_Login_context_specific",
        _ => "C_Login_other",
    }
}

pub(crate) unsafe extern "C" fn C_Login(
    session: CK_SESSION_HANDLE,
    user_type: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    entry("C_Login", |inst| {
        inst.count(login_stat(user_type));
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        let user_pin = matches!(user_type, CKU_USER | CKU_CONTEXT_SPECIFIC);
        if user_pin && inst.pin_locked() {
            return CKR_PIN_LOCKED;
        }
        let mut given: Option<Vec<u8>> = (!pin.is_null()).then(|| {
            // SAFETY: per PKCS#11, a non-null pPin points to ulPinLen bytes.
            unsafe { std::slice::from_raw_parts(pin, pin_len as usize) }.to_vec()
        });
        // A null PIN on a PIN-pad reader: the "user types" the configured PIN on the pad.
        let mut pad_pin: Vec<u8> = Vec::new();
        let (pin, pin_len) = match (&given, &inst.cfg.pinpad_pin) {
            (None, Some(pad)) if user_pin => {
                inst.count("C_Login_pinpad");
                pad_pin.extend_from_slice(pad.as_bytes());
                given = Some(pad_pin.clone());
                (pad_pin.as_mut_ptr(), pad_pin.len() as CK_ULONG)
            }
            _ => (pin, pin_len),
        };
        if user_type == CKU_CONTEXT_SPECIFIC && inst.cfg.always_authenticate {
            return context_login(inst, session, given.as_deref());
        }
        let rv = forward!(inst, C_Login(session, user_type, pin, pin_len));
        if user_pin {
            inst.note_pin_result(rv);
        }
        if user_type == CKU_USER && rv == CKR_OK && inst.cfg.always_authenticate {
            inst.lock().user_pin = given;
        }
        rv
    })
}

/// A context-specific login, checked by the proxy against the PIN of the last user login:
/// the real module cannot do it for keys it does not itself mark "always authenticate".
fn context_login(inst: &Instance, session: CK_SESSION_HANDLE, given: Option<&[u8]>) -> CK_RV {
    let rv = {
        let mut st = inst.lock();
        match (&st.user_pin, given) {
            (None, _) => return CKR_USER_NOT_LOGGED_IN,
            // No protected authentication path to emulate.
            (Some(_), None) => return CKR_ARGUMENTS_BAD,
            (Some(expected), Some(given)) if expected.as_slice() == given => {
                if let Some(op) = st.sessions.get_mut(&session).and_then(|s| s.sign.as_mut()) {
                    op.context_logged_in = true;
                }
                CKR_OK
            }
            (Some(_), Some(_)) => CKR_PIN_INCORRECT,
        }
    };
    inst.note_pin_result(rv);
    rv
}

pub(crate) unsafe extern "C" fn C_Logout(session: CK_SESSION_HANDLE) -> CK_RV {
    entry("C_Logout", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        let rv = forward!(inst, C_Logout(session));
        if rv == CKR_OK {
            inst.lock().user_pin = None;
        }
        rv
    })
}

// ---------------------------------------------------------------------------------------------
// Objects

/// Whether `key` is a private key allowed to sign: the keys `always_authenticate` applies to.
/// Asks the real module directly (no latency, not counted: not a consumer call).
fn is_signing_private_key(
    inst: &Instance,
    session: CK_SESSION_HANDLE,
    key: CK_OBJECT_HANDLE,
) -> bool {
    let mut class: CK_OBJECT_CLASS = CK_UNAVAILABLE_INFORMATION;
    let mut sign: CK_BBOOL = CK_FALSE;
    let mut template = [
        CK_ATTRIBUTE {
            type_: CKA_CLASS,
            pValue: (&raw mut class).cast(),
            ulValueLen: size_of::<CK_OBJECT_CLASS>() as CK_ULONG,
        },
        CK_ATTRIBUTE {
            type_: CKA_SIGN,
            pValue: (&raw mut sign).cast(),
            ulValueLen: size_of::<CK_BBOOL>() as CK_ULONG,
        },
    ];
    let rv = call_real!(
        inst,
        C_GetAttributeValue(
            session,
            key,
            template.as_mut_ptr(),
            template.len() as CK_ULONG
        )
    );
    // A certificate has no CKA_SIGN (ATTRIBUTE_TYPE_INVALID): each value is checked on its own.
    matches!(
        rv,
        CKR_OK | CKR_ATTRIBUTE_TYPE_INVALID | CKR_ATTRIBUTE_SENSITIVE
    ) && template[0].ulValueLen == size_of::<CK_OBJECT_CLASS>() as CK_ULONG
        && class == CKO_PRIVATE_KEY
        && template[1].ulValueLen == size_of::<CK_BBOOL>() as CK_ULONG
        && sign == CK_TRUE
}

pub(crate) unsafe extern "C" fn C_GetAttributeValue(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    entry("C_GetAttributeValue", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        // Buffer sizes of the CKA_ALWAYS_AUTHENTICATE entries, saved before the real module
        // overwrites them.
        let mut always_auth: Vec<(usize, CK_ULONG)> = Vec::new();
        if inst.cfg.always_authenticate && !template.is_null() {
            // SAFETY: per PKCS#11, a non-null pTemplate points to ulCount attributes.
            let attrs = unsafe { std::slice::from_raw_parts(template, count as usize) };
            always_auth = attrs
                .iter()
                .enumerate()
                .filter(|(_, a)| a.type_ == CKA_ALWAYS_AUTHENTICATE)
                .map(|(i, a)| (i, a.ulValueLen))
                .collect();
        }
        let rv = forward!(inst, C_GetAttributeValue(session, object, template, count));
        let patchable = matches!(
            rv,
            CKR_OK | CKR_ATTRIBUTE_SENSITIVE | CKR_ATTRIBUTE_TYPE_INVALID | CKR_BUFFER_TOO_SMALL
        );
        if always_auth.is_empty() || !patchable || !is_signing_private_key(inst, session, object) {
            return rv;
        }
        // SAFETY: as above; the real module has returned, so nobody else holds the template.
        let attrs = unsafe { std::slice::from_raw_parts_mut(template, count as usize) };
        for (i, room) in always_auth {
            let attr = &mut attrs[i];
            if attr.pValue.is_null() {
                attr.ulValueLen = size_of::<CK_BBOOL>() as CK_ULONG;
            } else if room >= size_of::<CK_BBOOL>() as CK_ULONG {
                // SAFETY: the consumer's buffer holds at least one byte (`room`).
                unsafe { *attr.pValue.cast::<CK_BBOOL>() = CK_TRUE };
                attr.ulValueLen = size_of::<CK_BBOOL>() as CK_ULONG;
            } else {
                attr.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            }
        }
        // The real module may have failed only because it did not know the attribute.
        if rv != CKR_OK
            && attrs
                .iter()
                .all(|a| a.ulValueLen != CK_UNAVAILABLE_INFORMATION)
        {
            return CKR_OK;
        }
        rv
    })
}

// ---------------------------------------------------------------------------------------------
// Signature

pub(crate) unsafe extern "C" fn C_SignInit(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    entry("C_SignInit", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        if mechanism_refused(inst, mechanism) {
            return CKR_MECHANISM_INVALID;
        }
        let needs_context_login =
            inst.cfg.always_authenticate && is_signing_private_key(inst, session, key);
        let rv = forward!(inst, C_SignInit(session, mechanism, key));
        if rv == CKR_OK
            && let Some(s) = inst.lock().sessions.get_mut(&session)
        {
            s.sign = Some(SignOp {
                needs_context_login,
                context_logged_in: false,
            });
        }
        rv
    })
}

/// Whether the signature in progress on `session` still lacks its context-specific login.
fn sign_blocked(inst: &Instance, session: CK_SESSION_HANDLE) -> bool {
    inst.cfg.always_authenticate
        && inst
            .lock()
            .sessions
            .get(&session)
            .and_then(|s| s.sign)
            .is_some_and(|op| op.needs_context_login && !op.context_logged_in)
}

fn end_sign(inst: &Instance, session: CK_SESSION_HANDLE) {
    if let Some(s) = inst.lock().sessions.get_mut(&session) {
        s.sign = None;
    }
}

/// Follows the operation's state after a C_Sign/C_SignFinal that returned `rv`.
fn after_sign_output(inst: &Instance, session: CK_SESSION_HANDLE, rv: CK_RV, out: *const CK_BYTE) {
    match rv {
        // A size query (null output) or a too small buffer leaves the operation active.
        CKR_OK if out.is_null() => {}
        CKR_BUFFER_TOO_SMALL => {}
        CKR_OK => {
            end_sign(inst, session);
            inst.op_succeeded(session);
        }
        _ => end_sign(inst, session),
    }
}

/// Terminates the real module's signature operation, which a refused C_Sign/C_SignUpdate/
/// C_SignFinal must do per PKCS#11. Version 2.40 has no cancel call, so the operation is
/// completed into a scratch buffer and the result thrown away.
fn abort_sign(
    inst: &Instance,
    session: CK_SESSION_HANDLE,
    single_part: Option<(*mut CK_BYTE, CK_ULONG)>,
) {
    let finish = |out: *mut CK_BYTE, len: *mut CK_ULONG| match single_part {
        Some((data, data_len)) => call_real!(inst, C_Sign(session, data, data_len, out, len)),
        None => call_real!(inst, C_SignFinal(session, out, len)),
    };
    let mut len: CK_ULONG = 0;
    if finish(null_mut(), &mut len) == CKR_OK {
        let mut scratch = vec![0u8; len as usize];
        finish(scratch.as_mut_ptr(), &mut len);
    }
    end_sign(inst, session);
}

pub(crate) unsafe extern "C" fn C_Sign(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    entry("C_Sign", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        if sign_blocked(inst, session) {
            abort_sign(inst, session, Some((data, data_len)));
            return CKR_USER_NOT_LOGGED_IN;
        }
        let rv = forward!(
            inst,
            C_Sign(session, data, data_len, signature, signature_len)
        );
        after_sign_output(inst, session, rv, signature);
        rv
    })
}

pub(crate) unsafe extern "C" fn C_SignUpdate(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
) -> CK_RV {
    entry("C_SignUpdate", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        if sign_blocked(inst, session) {
            abort_sign(inst, session, None);
            return CKR_USER_NOT_LOGGED_IN;
        }
        let rv = forward!(inst, C_SignUpdate(session, data, data_len));
        if rv != CKR_OK {
            end_sign(inst, session);
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_SignFinal(
    session: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    entry("C_SignFinal", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        if sign_blocked(inst, session) {
            abort_sign(inst, session, None);
            return CKR_USER_NOT_LOGGED_IN;
        }
        let rv = forward!(inst, C_SignFinal(session, signature, signature_len));
        after_sign_output(inst, session, rv, signature);
        rv
    })
}

// ---------------------------------------------------------------------------------------------
// Decryption: forwarded, but completed decryptions count towards `remove_after_ops`.

pub(crate) unsafe extern "C" fn C_Decrypt(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    entry("C_Decrypt", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        let rv = forward!(inst, C_Decrypt(session, data, data_len, out, out_len));
        if rv == CKR_OK && !out.is_null() {
            inst.op_succeeded(session);
        }
        rv
    })
}

pub(crate) unsafe extern "C" fn C_DecryptFinal(
    session: CK_SESSION_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    entry("C_DecryptFinal", |inst| {
        if let Some(rv) = inst.session_removed(session) {
            return rv;
        }
        let rv = forward!(inst, C_DecryptFinal(session, out, out_len));
        if rv == CKR_OK && !out.is_null() {
            inst.op_succeeded(session);
        }
        rv
    })
}
