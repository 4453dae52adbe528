//! PES schema validation with libxml2's *streaming* validator (`xmlTextReader` + XSD), the same
//! engine as `xmllint --stream --schema`: same verdicts, memory bounded on 100 MB files.
//!
//! libxml2 is loaded at run time (it is on every Linux desktop; xmllint and xmlsec1 use it), so that
//! building Paraphe needs no C headers and a machine without it still runs Paraphe — the schema
//! check is then reported as not done. DTDs are never loaded and the network is never used.

use crate::findings::{Finding, Location};
use crate::messages::tf;
use libloading::{Library, Symbol};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;
use std::sync::Mutex;

/// libxml2's `xmlError` (layout stable since 2.6).
#[repr(C)]
struct XmlError {
    domain: c_int,
    code: c_int,
    message: *const c_char,
    level: c_int,
    file: *const c_char,
    line: c_int,
    str1: *const c_char,
    str2: *const c_char,
    str3: *const c_char,
    int1: c_int,
    int2: c_int,
    ctxt: *mut c_void,
    node: *mut c_void,
}

const XML_PARSE_NONET: c_int = 1 << 11;
const XML_PARSE_HUGE: c_int = 1 << 19;
const XML_ERR_WARNING: c_int = 1;

type ErrorHandler = unsafe extern "C" fn(*mut c_void, *const XmlError);

/// The messages collected by the error handler, with their line.
#[derive(Default)]
struct Collected {
    errors: Vec<(u64, String)>,
}

unsafe extern "C" fn collect(ctx: *mut c_void, error: *const XmlError) {
    if ctx.is_null() || error.is_null() {
        return;
    }
    // SAFETY: libxml2 passes back the pointer we registered (a live Mutex<Collected>) and a valid
    // xmlError for the duration of the call.
    let (collected, error) = unsafe { (&*(ctx as *const Mutex<Collected>), &*error) };
    if error.level <= XML_ERR_WARNING {
        return;
    }
    let message = if error.message.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated string owned by libxml2 during the call.
        unsafe { CStr::from_ptr(error.message) }
            .to_string_lossy()
            .trim()
            .to_owned()
    };
    if let Ok(mut c) = collected.lock() {
        // Keep the first hundred: a broken file can produce millions.
        if c.errors.len() < 100 {
            c.errors.push((error.line.max(0) as u64, message));
        }
    }
}

/// Why validation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{}", tf("schema.libxml2_absente", &[("detail", .0)]))]
    Library(String),
    #[error("{}", tf("schema.illisible", &[("chemin", .0), ("detail", .1)]))]
    Schema(String, String),
}

/// A compiled schema, reusable for many files.
pub struct PesSchema {
    lib: Library,
    schema: *mut c_void,
    path: String,
}

// SAFETY: a compiled xmlSchema is read-only once parsed; libxml2 documents it as shareable
// between validation contexts in several threads.
unsafe impl Send for PesSchema {}
unsafe impl Sync for PesSchema {}

fn load_library() -> Result<Library, SchemaError> {
    let names: &[&str] = if cfg!(windows) {
        &["libxml2.dll", "libxml2-2.dll"]
    } else if cfg!(target_os = "macos") {
        &["libxml2.2.dylib", "/usr/lib/libxml2.2.dylib"]
    } else {
        &["libxml2.so.2", "libxml2.so"]
    };
    let mut last = String::new();
    for name in names {
        // SAFETY: loading libxml2 runs its initialisers, which have no preconditions.
        match unsafe { Library::new(name) } {
            Ok(lib) => return Ok(lib),
            Err(e) => last = e.to_string(),
        }
    }
    Err(SchemaError::Library(last))
}

/// Keep libxml2's thread-wide messages (such as "failed to load external entity" for the schema's
/// optional `Class_Chiffrement.xsd` import) off standard error: they go to our handler with no
/// context, which drops them. Errors that matter arrive through the per-context handlers.
fn silence_global_errors(lib: &Library) {
    // SAFETY: public libxml2 API; a null context is valid and our handler ignores it.
    unsafe {
        if let Ok(set) = lib
            .get::<unsafe extern "C" fn(*mut c_void, ErrorHandler)>(b"xmlSetStructuredErrorFunc\0")
        {
            set(std::ptr::null_mut(), collect);
        }
    }
}

impl PesSchema {
    /// Compile the schema at `xsd` (e.g. `PES_Aller.xsd`; its includes are read beside it).
    pub fn load(xsd: &Path) -> Result<PesSchema, SchemaError> {
        let lib = load_library()?;
        let path = xsd.display().to_string();
        let err = |d: &str| SchemaError::Schema(path.clone(), d.to_owned());
        let c_path = CString::new(path.clone()).map_err(|_| err("chemin invalide"))?;
        let collected = Box::new(Mutex::new(Collected::default()));
        // SAFETY: the signatures below are libxml2's public API (xmlschemas.h).
        let schema = unsafe {
            let new_ctxt: Symbol<unsafe extern "C" fn(*const c_char) -> *mut c_void> = lib
                .get(b"xmlSchemaNewParserCtxt\0")
                .map_err(|e| err(&e.to_string()))?;
            let set_errors: Symbol<unsafe extern "C" fn(*mut c_void, ErrorHandler, *mut c_void)> =
                lib.get(b"xmlSchemaSetParserStructuredErrors\0")
                    .map_err(|e| err(&e.to_string()))?;
            let parse: Symbol<unsafe extern "C" fn(*mut c_void) -> *mut c_void> = lib
                .get(b"xmlSchemaParse\0")
                .map_err(|e| err(&e.to_string()))?;
            let free_ctxt: Symbol<unsafe extern "C" fn(*mut c_void)> = lib
                .get(b"xmlSchemaFreeParserCtxt\0")
                .map_err(|e| err(&e.to_string()))?;
            silence_global_errors(&lib);
            let ctxt = new_ctxt(c_path.as_ptr());
            if ctxt.is_null() {
                return Err(err("contexte"));
            }
            set_errors(
                ctxt,
                collect,
                &*collected as *const Mutex<Collected> as *mut c_void,
            );
            let schema = parse(ctxt);
            free_ctxt(ctxt);
            schema
        };
        if schema.is_null() {
            let detail = collected
                .lock()
                .ok()
                .and_then(|c| c.errors.first().map(|(_, m)| m.clone()))
                .unwrap_or_default();
            return Err(err(&detail));
        }
        Ok(PesSchema { lib, schema, path })
    }

    /// Validate a file in a stream; each schema error is a blocking finding with its line.
    pub fn validate(&self, file: &Path) -> Result<Vec<Finding>, SchemaError> {
        let err = |d: &str| SchemaError::Schema(self.path.clone(), d.to_owned());
        let c_file =
            CString::new(file.display().to_string()).map_err(|_| err("chemin invalide"))?;
        let collected = Box::new(Mutex::new(Collected::default()));
        let ctx = &*collected as *const Mutex<Collected> as *mut c_void;
        // SAFETY: libxml2's public API (xmlreader.h); the reader is freed before `collected`.
        let valid = unsafe {
            let lib = &self.lib;
            let for_file: Symbol<
                unsafe extern "C" fn(*const c_char, *const c_char, c_int) -> *mut c_void,
            > = lib
                .get(b"xmlReaderForFile\0")
                .map_err(|e| err(&e.to_string()))?;
            let set_schema: Symbol<unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int> = lib
                .get(b"xmlTextReaderSetSchema\0")
                .map_err(|e| err(&e.to_string()))?;
            let set_errors: Symbol<unsafe extern "C" fn(*mut c_void, ErrorHandler, *mut c_void)> =
                lib.get(b"xmlTextReaderSetStructuredErrorHandler\0")
                    .map_err(|e| err(&e.to_string()))?;
            let read: Symbol<unsafe extern "C" fn(*mut c_void) -> c_int> = lib
                .get(b"xmlTextReaderRead\0")
                .map_err(|e| err(&e.to_string()))?;
            let is_valid: Symbol<unsafe extern "C" fn(*mut c_void) -> c_int> = lib
                .get(b"xmlTextReaderIsValid\0")
                .map_err(|e| err(&e.to_string()))?;
            let free_reader: Symbol<unsafe extern "C" fn(*mut c_void)> = lib
                .get(b"xmlFreeTextReader\0")
                .map_err(|e| err(&e.to_string()))?;
            silence_global_errors(lib);
            let reader = for_file(
                c_file.as_ptr(),
                std::ptr::null(),
                XML_PARSE_NONET | XML_PARSE_HUGE,
            );
            if reader.is_null() {
                return Err(err("lecture du fichier"));
            }
            set_errors(reader, collect, ctx);
            if set_schema(reader, self.schema) != 0 {
                free_reader(reader);
                return Err(err("activation du schéma"));
            }
            let mut status = read(reader);
            while status == 1 {
                status = read(reader);
            }
            let valid = status == 0 && is_valid(reader) == 1;
            free_reader(reader);
            valid
        };
        let collected = collected.into_inner().unwrap_or_default();
        let mut findings: Vec<Finding> = collected
            .errors
            .into_iter()
            .map(|(line, message)| {
                Finding::blocking(
                    "pes.schema",
                    tf("schema.erreur", &[("detail", &message)]),
                    Location {
                        ligne: (line > 0).then_some(line),
                        ..Default::default()
                    },
                )
            })
            .collect();
        if !valid && findings.is_empty() {
            findings.push(Finding::blocking(
                "pes.schema",
                tf("schema.erreur", &[("detail", "document non valide")]),
                Location::default(),
            ));
        }
        Ok(findings)
    }
}

impl Drop for PesSchema {
    fn drop(&mut self) {
        // SAFETY: the schema was returned by xmlSchemaParse and is not used after this.
        unsafe {
            if let Ok(free) = self
                .lib
                .get::<unsafe extern "C" fn(*mut c_void)>(b"xmlSchemaFree\0")
            {
                free(self.schema);
            }
        }
    }
}
