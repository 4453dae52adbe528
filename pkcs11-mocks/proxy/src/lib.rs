//! Fault-injecting PKCS#11 proxy module, for Paraphe's tests only.
//!
//! Built as a `cdylib`, it is a PKCS#11 v2.40 module: it loads a real module (SoftHSM2 in the
//! tests), forwards every call to it, and injects the faults switched on in its TOML
//! configuration: token removal after N operations, a PIN try counter, "always authenticate"
//! keys, latency, a restricted mechanism list. It also counts calls in a JSON file so that tests
//! can check how the application drives the token (how many logins, signatures...).
//!
//! See README.md for the configuration keys.

#![allow(non_snake_case)] // the FFI functions keep their PKCS#11 names

/// Calls a function of the real module, or returns `CKR_FUNCTION_NOT_SUPPORTED` if the module
/// left that entry empty. No latency here: internal helper calls are not "forwarded calls".
macro_rules! call_real {
    ($inst:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $inst.funcs.$f {
            // SAFETY: the pointer comes from the real module's own function list and the module
            // is never unloaded. The arguments are either the consumer's own, passed through
            // unchanged under the PKCS#11 contract the consumer already had to respect, or
            // buffers owned by the proxy and sized as the call requires.
            Some(f) => unsafe { f($($arg),*) },
            None => CKR_FUNCTION_NOT_SUPPORTED,
        }
    };
}

/// `call_real!` preceded by the configured latency: used for each consumer call that reaches
/// the real module.
macro_rules! forward {
    ($inst:expr, $f:ident ( $($arg:expr),* $(,)? )) => {{
        $inst.delay();
        call_real!($inst, $f($($arg),*))
    }};
}

pub mod config;
mod ffi;
mod instance;

use cryptoki_sys::*;

/// The function list handed to consumers. Every entry is filled: functions the proxy does not
/// alter are forwarded verbatim by `ffi`.
pub(crate) static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: CK_VERSION {
        major: 2,
        minor: 40,
    },
    C_Initialize: Some(ffi::C_Initialize),
    C_Finalize: Some(ffi::C_Finalize),
    C_GetInfo: Some(ffi::C_GetInfo),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(ffi::C_GetSlotList),
    C_GetSlotInfo: Some(ffi::C_GetSlotInfo),
    C_GetTokenInfo: Some(ffi::C_GetTokenInfo),
    C_GetMechanismList: Some(ffi::C_GetMechanismList),
    C_GetMechanismInfo: Some(ffi::C_GetMechanismInfo),
    C_InitToken: Some(ffi::C_InitToken),
    C_InitPIN: Some(ffi::C_InitPIN),
    C_SetPIN: Some(ffi::C_SetPIN),
    C_OpenSession: Some(ffi::C_OpenSession),
    C_CloseSession: Some(ffi::C_CloseSession),
    C_CloseAllSessions: Some(ffi::C_CloseAllSessions),
    C_GetSessionInfo: Some(ffi::C_GetSessionInfo),
    C_GetOperationState: Some(ffi::C_GetOperationState),
    C_SetOperationState: Some(ffi::C_SetOperationState),
    C_Login: Some(ffi::C_Login),
    C_Logout: Some(ffi::C_Logout),
    C_CreateObject: Some(ffi::C_CreateObject),
    C_CopyObject: Some(ffi::C_CopyObject),
    C_DestroyObject: Some(ffi::C_DestroyObject),
    C_GetObjectSize: Some(ffi::C_GetObjectSize),
    C_GetAttributeValue: Some(ffi::C_GetAttributeValue),
    C_SetAttributeValue: Some(ffi::C_SetAttributeValue),
    C_FindObjectsInit: Some(ffi::C_FindObjectsInit),
    C_FindObjects: Some(ffi::C_FindObjects),
    C_FindObjectsFinal: Some(ffi::C_FindObjectsFinal),
    C_EncryptInit: Some(ffi::C_EncryptInit),
    C_Encrypt: Some(ffi::C_Encrypt),
    C_EncryptUpdate: Some(ffi::C_EncryptUpdate),
    C_EncryptFinal: Some(ffi::C_EncryptFinal),
    C_DecryptInit: Some(ffi::C_DecryptInit),
    C_Decrypt: Some(ffi::C_Decrypt),
    C_DecryptUpdate: Some(ffi::C_DecryptUpdate),
    C_DecryptFinal: Some(ffi::C_DecryptFinal),
    C_DigestInit: Some(ffi::C_DigestInit),
    C_Digest: Some(ffi::C_Digest),
    C_DigestUpdate: Some(ffi::C_DigestUpdate),
    C_DigestKey: Some(ffi::C_DigestKey),
    C_DigestFinal: Some(ffi::C_DigestFinal),
    C_SignInit: Some(ffi::C_SignInit),
    C_Sign: Some(ffi::C_Sign),
    C_SignUpdate: Some(ffi::C_SignUpdate),
    C_SignFinal: Some(ffi::C_SignFinal),
    C_SignRecoverInit: Some(ffi::C_SignRecoverInit),
    C_SignRecover: Some(ffi::C_SignRecover),
    C_VerifyInit: Some(ffi::C_VerifyInit),
    C_Verify: Some(ffi::C_Verify),
    C_VerifyUpdate: Some(ffi::C_VerifyUpdate),
    C_VerifyFinal: Some(ffi::C_VerifyFinal),
    C_VerifyRecoverInit: Some(ffi::C_VerifyRecoverInit),
    C_VerifyRecover: Some(ffi::C_VerifyRecover),
    C_DigestEncryptUpdate: Some(ffi::C_DigestEncryptUpdate),
    C_DecryptDigestUpdate: Some(ffi::C_DecryptDigestUpdate),
    C_SignEncryptUpdate: Some(ffi::C_SignEncryptUpdate),
    C_DecryptVerifyUpdate: Some(ffi::C_DecryptVerifyUpdate),
    C_GenerateKey: Some(ffi::C_GenerateKey),
    C_GenerateKeyPair: Some(ffi::C_GenerateKeyPair),
    C_WrapKey: Some(ffi::C_WrapKey),
    C_UnwrapKey: Some(ffi::C_UnwrapKey),
    C_DeriveKey: Some(ffi::C_DeriveKey),
    C_SeedRandom: Some(ffi::C_SeedRandom),
    C_GenerateRandom: Some(ffi::C_GenerateRandom),
    C_GetFunctionStatus: Some(ffi::C_GetFunctionStatus),
    C_CancelFunction: Some(ffi::C_CancelFunction),
    C_WaitForSlotEvent: Some(ffi::C_WaitForSlotEvent),
};

/// The module's only exported symbol, as PKCS#11 v2.40 requires. Other entry points are
/// reached through the list only, which keeps them from interposing on the real module's
/// symbols of the same names.
///
/// # Safety
///
/// `list` must be null or point to writable storage for one pointer. The returned list must
/// not be written to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(list: CK_FUNCTION_LIST_PTR_PTR) -> CK_RV {
    ffi::guard(|| {
        if list.is_null() {
            return CKR_ARGUMENTS_BAD;
        }
        // SAFETY: `list` is non-null and, per the contract above, writable.
        unsafe { *list = (&raw const FUNCTION_LIST).cast_mut() };
        CKR_OK
    })
}
