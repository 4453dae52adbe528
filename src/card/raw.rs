//! Direct calls into a module's function list where cryptoki's safe API does not fit.
//!
//! - C_GetTokenInfo, bypassing cryptoki's `TokenInfo` conversion. Why: cryptoki 0.12 refuses the
//!   whole CK_TOKEN_INFO when `utcTime` is not the 16 digits it expects (opencryptoki 3.8 fills it with "17:27:34"), so the PIN flags — the very thing we
//!   must show before asking a PIN — would be lost. We only need label, identity fields and flags.
//! - single-part C_Sign / C_Decrypt after a separate C_SignInit / C_DecryptInit. Why: keys with
//!   CKA_ALWAYS_AUTHENTICATE need C_Login(CKU_CONTEXT_SPECIFIC) *between* the init and the
//!   operation, and cryptoki only offers init+operation in one call or multi-part operations,
//!   which raw mechanisms such as CKM_RSA_PKCS do not support.

use cryptoki_sys::{
    CK_BYTE_PTR, CK_FUNCTION_LIST, CK_RV, CK_SESSION_HANDLE, CK_SLOT_ID, CK_TOKEN_INFO, CK_ULONG,
    CK_ULONG_PTR, CKR_GENERAL_ERROR, CKR_OK,
};
use std::path::Path;

/// The fields of CK_TOKEN_INFO Paraphe uses.
#[derive(Debug, Clone, Default)]
pub struct RawTokenInfo {
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub flags: u64,
}

/// Padded PKCS#11 text fields are blank-filled, not NUL-terminated.
fn padded(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches([' ', '\0'])
        .to_owned()
}

/// A module's function list, with the library reference that keeps it alive.
struct FunctionList {
    _lib: libloading::Library,
    list: *mut CK_FUNCTION_LIST,
}

impl FunctionList {
    /// The module at `path`, which the process has already loaded and initialised through cryptoki
    /// (dlopen hands back the same library instance).
    fn of(path: &Path) -> Result<Self, CK_RV> {
        // SAFETY: the same module is already loaded in this process by cryptoki, so this only takes
        // another reference to it; its initialisers have already run.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|_| CKR_GENERAL_ERROR)?;
        let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
        {
            // SAFETY: C_GetFunctionList has this signature in every PKCS#11 module (spec §5.2).
            let get_list: libloading::Symbol<
                unsafe extern "C" fn(*mut *mut CK_FUNCTION_LIST) -> CK_RV,
            > = unsafe { lib.get(b"C_GetFunctionList\0") }.map_err(|_| CKR_GENERAL_ERROR)?;
            // SAFETY: `list` is a valid out-pointer.
            let rv = unsafe { get_list(&mut list) };
            if rv != CKR_OK {
                return Err(rv);
            }
        }
        if list.is_null() {
            return Err(CKR_GENERAL_ERROR);
        }
        Ok(FunctionList { _lib: lib, list })
    }

    fn get(&self) -> &CK_FUNCTION_LIST {
        // SAFETY: the module owns the list for its whole lifetime and `_lib` keeps it loaded.
        unsafe { &*self.list }
    }
}

/// C_GetTokenInfo for `slot`.
pub fn token_info(path: &Path, slot: u64) -> Result<RawTokenInfo, CK_RV> {
    let functions = FunctionList::of(path)?;
    let get_token_info = functions
        .get()
        .C_GetTokenInfo
        .ok_or(cryptoki_sys::CKR_FUNCTION_NOT_SUPPORTED)?;
    // SAFETY: CK_TOKEN_INFO is plain old data; zeroed is a valid value for every field.
    let mut info: CK_TOKEN_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: valid slot id and out-pointer to a properly sized struct.
    let rv = unsafe { get_token_info(slot as CK_SLOT_ID, &mut info) };
    if rv != CKR_OK {
        return Err(rv);
    }
    Ok(RawTokenInfo {
        label: padded(&info.label),
        manufacturer: padded(&info.manufacturerID),
        model: padded(&info.model),
        serial: padded(&info.serialNumber),
        flags: info.flags as u64,
    })
}

type SinglePart = unsafe extern "C" fn(
    CK_SESSION_HANDLE,
    CK_BYTE_PTR,
    CK_ULONG,
    CK_BYTE_PTR,
    CK_ULONG_PTR,
) -> CK_RV;

/// Which single-part operation to finish.
#[derive(Debug, Clone, Copy)]
pub enum Operation {
    Sign,
    Decrypt,
}

/// C_Sign or C_Decrypt (single part) on a session whose operation was initialised already.
pub fn finish(
    path: &Path,
    session: CK_SESSION_HANDLE,
    operation: Operation,
    data: &[u8],
) -> Result<Vec<u8>, CK_RV> {
    let functions = FunctionList::of(path)?;
    let call: SinglePart = match operation {
        Operation::Sign => functions.get().C_Sign,
        Operation::Decrypt => functions.get().C_Decrypt,
    }
    .ok_or(cryptoki_sys::CKR_FUNCTION_NOT_SUPPORTED)?;
    let mut input = data.to_vec();
    let input_len =
        CK_ULONG::try_from(input.len()).map_err(|_| cryptoki_sys::CKR_DATA_LEN_RANGE)?;
    // Ask for the length first (PKCS#11 §5.2 conventions), then get the result.
    let mut out_len: CK_ULONG = 0;
    // SAFETY: input buffer valid for input_len bytes; null output asks for the length only.
    let rv = unsafe {
        call(
            session,
            input.as_mut_ptr(),
            input_len,
            std::ptr::null_mut(),
            &mut out_len,
        )
    };
    if rv != CKR_OK {
        return Err(rv);
    }
    let mut out = vec![0u8; out_len as usize];
    // SAFETY: output buffer has out_len bytes, as the module asked.
    let rv = unsafe {
        call(
            session,
            input.as_mut_ptr(),
            input_len,
            out.as_mut_ptr(),
            &mut out_len,
        )
    };
    if rv != CKR_OK {
        return Err(rv);
    }
    out.truncate(out_len as usize);
    Ok(out)
}
