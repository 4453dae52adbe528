//! PES schema validation with libxml2's *streaming* validator (`xmlTextReader` + XSD), the same
//! engine as `xmllint --stream --schema`: same verdicts, memory bounded on 100 MB files.
//!
//! libxml2 is loaded at run time (it is on every Linux desktop; xmllint and xmlsec1 use it), so that
//! building Paraphe needs no C headers and a machine without it still runs Paraphe — the schema
//! check is then reported as not done. DTDs are never loaded and the network is never used.

use crate::findings::{Finding, Location};
use crate::messages::tf;
use libloading::{Library, Symbol};
use std::ffi::{CStr, CString, c_char, c_int, c_ulong, c_void};
use std::io::Read;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

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
/// `xmlSAXHandler.initialized` for a SAX2 handler.
const XML_SAX2_MAGIC: u32 = 0xDEED_BEAF;

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

/// The line the push parser is at, for the validator's messages.
struct Locator {
    line_of: unsafe extern "C" fn(*mut c_void) -> c_int,
    parser: *mut c_void,
}

unsafe extern "C" fn locate(
    ctx: *mut c_void,
    file: *mut *const c_char,
    line: *mut c_ulong,
) -> c_int {
    if ctx.is_null() || line.is_null() {
        return -1;
    }
    // SAFETY: `ctx` is the live Locator registered for this validation; `file` and `line` are
    // libxml2's out-parameters.
    unsafe {
        let locator = &*(ctx as *const Locator);
        if !file.is_null() {
            *file = std::ptr::null();
        }
        *line = (locator.line_of)(locator.parser).max(0) as c_ulong;
    }
    0
}

/// The libxml2 functions the SAX validation uses, looked up once per file.
struct SaxApi {
    new_valid_ctxt: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    set_valid_errors: unsafe extern "C" fn(*mut c_void, ErrorHandler, *mut c_void),
    set_global_errors: unsafe extern "C" fn(*mut c_void, ErrorHandler),
    sax_plug: unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *mut *mut c_void) -> *mut c_void,
    sax_unplug: unsafe extern "C" fn(*mut c_void) -> c_int,
    create_push: unsafe extern "C" fn(
        *mut c_void,
        *mut c_void,
        *const c_char,
        c_int,
        *const c_char,
    ) -> *mut c_void,
    use_options: unsafe extern "C" fn(*mut c_void, c_int) -> c_int,
    set_locator: unsafe extern "C" fn(
        *mut c_void,
        unsafe extern "C" fn(*mut c_void, *mut *const c_char, *mut c_ulong) -> c_int,
        *mut c_void,
    ),
    parse_chunk: unsafe extern "C" fn(*mut c_void, *const c_char, c_int, c_int) -> c_int,
    is_valid: unsafe extern "C" fn(*mut c_void) -> c_int,
    free_parser: unsafe extern "C" fn(*mut c_void),
    free_valid_ctxt: unsafe extern "C" fn(*mut c_void),
    line_number: unsafe extern "C" fn(*mut c_void) -> c_int,
}

impl SaxApi {
    fn load(lib: &Library) -> Result<SaxApi, String> {
        fn get<T: Copy>(lib: &Library, name: &[u8]) -> Result<T, String> {
            // SAFETY: each name below is given the type of its libxml2 declaration.
            unsafe { lib.get::<T>(name).map(|s| *s).map_err(|e| e.to_string()) }
        }
        Ok(SaxApi {
            new_valid_ctxt: get(lib, b"xmlSchemaNewValidCtxt\0")?,
            set_valid_errors: get(lib, b"xmlSchemaSetValidStructuredErrors\0")?,
            set_global_errors: get(lib, b"xmlSetStructuredErrorFunc\0")?,
            sax_plug: get(lib, b"xmlSchemaSAXPlug\0")?,
            sax_unplug: get(lib, b"xmlSchemaSAXUnplug\0")?,
            create_push: get(lib, b"xmlCreatePushParserCtxt\0")?,
            use_options: get(lib, b"xmlCtxtUseOptions\0")?,
            set_locator: get(lib, b"xmlSchemaValidateSetLocator\0")?,
            parse_chunk: get(lib, b"xmlParseChunk\0")?,
            is_valid: get(lib, b"xmlSchemaIsValid\0")?,
            free_parser: get(lib, b"xmlFreeParserCtxt\0")?,
            free_valid_ctxt: get(lib, b"xmlSchemaFreeValidCtxt\0")?,
            line_number: get(lib, b"xmlSAX2GetLineNumber\0")?,
        })
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Why validation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{}", tf("schema.libxml2_absente", &[("detail", .0)]))]
    Library(String),
    #[error("{}", tf("schema.illisible", &[("chemin", .0), ("detail", .1)]))]
    Schema(String, String),
}

/// The official schemas shipped inside the program (each folder's PROVENANCE.txt says where they
/// come from): a file is validated with them when no other schema is chosen, so that no one has
/// to find an XSD.
static PES_V2: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/assets/schemas/pes_v5.12");
static ACTES_V1_1: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/assets/schemas/actes_v1.1");
/// The version of the shipped PES schemas.
pub const BUILTIN_VERSION: &str = "5.12";

/// A set of official schemas shipped inside the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// The DGFiP's PES V2 schemas, v5.12; entry `PES_V2/Rev0/PES_Aller.xsd`.
    PesAller,
    /// The ministry's ACTES v1.1 schema; entry `actesv1_1.xsd`.
    Actes,
}

impl Builtin {
    fn files(self) -> &'static include_dir::Dir<'static> {
        match self {
            Builtin::PesAller => &PES_V2,
            Builtin::Actes => &ACTES_V1_1,
        }
    }

    /// The schema files are validated against, within the set.
    fn entry(self) -> &'static str {
        match self {
            Builtin::PesAller => "PES_V2/Rev0/PES_Aller.xsd",
            Builtin::Actes => "actesv1_1.xsd",
        }
    }

    /// The set's folder name, before its content key.
    fn folder(self) -> String {
        match self {
            Builtin::PesAller => format!("pes-v{BUILTIN_VERSION}"),
            Builtin::Actes => "actes-v1.1".to_owned(),
        }
    }

    /// What the files validated against it are, for the messages.
    pub fn kind(self) -> SchemaKind {
        match self {
            Builtin::PesAller => SchemaKind::Pes,
            Builtin::Actes => SchemaKind::Actes,
        }
    }

    /// The set's entry schema, as a file: libxml2 reads a schema, and what it imports, from
    /// files. The set is written once under `data_dir/schemas/` (in a folder named after its
    /// content) and compared with the program's copy at each use; a folder that differs (changed
    /// by hand, half written) is written again.
    pub fn path(self, data_dir: &Path) -> Result<std::path::PathBuf, SchemaError> {
        let files = builtin_files(self.files());
        let mut digest = openssl::sha::Sha256::new();
        for (path, contents) in &files {
            digest.update(path.as_os_str().as_encoded_bytes());
            digest.update(&[0]);
            digest.update(contents);
        }
        let key = hex::encode(&digest.finish()[..6]);
        let parent = data_dir.join("schemas");
        let folder = parent.join(format!("{}-{key}", self.folder()));
        let err =
            |e: std::io::Error| SchemaError::Schema(folder.display().to_string(), e.to_string());
        let intact = files
            .iter()
            .all(|(path, contents)| std::fs::read(folder.join(path)).is_ok_and(|c| c == *contents));
        if !intact {
            crate::logging::create_private_dir(&parent).map_err(err)?;
            // Written aside, then renamed into place: another Paraphe doing the same at the same
            // time finds either nothing or the whole set.
            let staging = tempfile::Builder::new()
                .prefix(".en-cours-")
                .tempdir_in(&parent)
                .map_err(err)?;
            for (path, contents) in &files {
                let target = staging.path().join(path);
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                std::fs::write(&target, contents).map_err(err)?;
            }
            if folder.exists() {
                std::fs::remove_dir_all(&folder).map_err(err)?;
            }
            let staged = staging.keep();
            if let Err(e) = std::fs::rename(&staged, &folder) {
                let _ = std::fs::remove_dir_all(&staged);
                // Someone else put the same set in place meanwhile.
                if !folder.join(self.entry()).is_file() {
                    return Err(err(e));
                }
            }
        }
        Ok(folder.join(self.entry()))
    }

    /// The set's entry schema written under `data_dir`, compiled.
    pub fn load(self, data_dir: &Path) -> Result<XmlSchema, SchemaError> {
        XmlSchema::load(&self.path(data_dir)?, self.kind())
    }
}

/// The shipped `PES_Aller.xsd`, as a file (see [`Builtin::path`]).
pub fn builtin_pes_aller(data_dir: &Path) -> Result<std::path::PathBuf, SchemaError> {
    Builtin::PesAller.path(data_dir)
}

/// What a schema validates: it names the findings (`pes.schema`, `actes.schema`) and their words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    Pes,
    Actes,
}

impl SchemaKind {
    fn code(self) -> &'static str {
        match self {
            SchemaKind::Pes => "pes.schema",
            SchemaKind::Actes => "actes.schema",
        }
    }

    fn message(self, detail: &str) -> String {
        match self {
            SchemaKind::Pes => tf("schema.erreur", &[("detail", detail)]),
            SchemaKind::Actes => tf("schema.erreur_actes", &[("detail", detail)]),
        }
    }
}

/// Every file of a shipped set: its path in the set and its bytes.
fn builtin_files(set: &'static include_dir::Dir<'static>) -> Vec<(&'static Path, &'static [u8])> {
    fn walk(
        dir: &'static include_dir::Dir<'static>,
        out: &mut Vec<(&'static Path, &'static [u8])>,
    ) {
        for file in dir.files() {
            out.push((file.path(), file.contents()));
        }
        for sub in dir.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(set, &mut out);
    out.sort();
    out
}

/// A compiled schema, reusable for many files.
pub struct XmlSchema {
    lib: &'static Library,
    schema: *mut c_void,
    path: String,
    kind: SchemaKind,
}

// SAFETY: a compiled xmlSchema is read-only once parsed; libxml2 documents it as shareable
// between validation contexts in several threads.
unsafe impl Send for XmlSchema {}
unsafe impl Sync for XmlSchema {}

/// libxml2, loaded once for the process and initialised before any thread uses it.
///
/// libxml2 2.9 sets up its global state lazily and not safely when two threads make their first
/// call at the same time: two schemas compiled together each created the catalog's mutex and
/// deadlocked for good in `xmlCatalogResolve` (seen in CI, reproduced here: two threads parked
/// in `xmlRMutexLock`), or one saw the other's half-built XSD types and refused `1` as a number.
/// `xmlInitParser`, `xmlInitializeCatalog` and `xmlSchemaInitTypes`, called once here under the
/// `OnceLock`, do that set-up before any other use; the library is never unloaded. Compiling a
/// schema is also done one at a time (`COMPILING`): it is rare, and validation, which shares the
/// compiled schema between threads, is what libxml2 documents as safe.
fn libxml2() -> Result<&'static Library, SchemaError> {
    static LIBXML2: OnceLock<Result<Library, String>> = OnceLock::new();
    LIBXML2
        .get_or_init(|| {
            let lib = open_library()?;
            // SAFETY: both take nothing and have no preconditions; called once, before any
            // other use of the library.
            unsafe {
                for name in [
                    &b"xmlInitParser\0"[..],
                    &b"xmlInitializeCatalog\0"[..],
                    &b"xmlSchemaInitTypes\0"[..],
                ] {
                    let init: Symbol<unsafe extern "C" fn()> =
                        lib.get(name).map_err(|e| e.to_string())?;
                    init();
                }
            }
            Ok(lib)
        })
        .as_ref()
        .map_err(|e| SchemaError::Library(e.clone()))
}

fn open_library() -> Result<Library, String> {
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
    Err(last)
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

impl XmlSchema {
    /// Compile the schema at `xsd` (e.g. `PES_Aller.xsd`; its includes are read beside it).
    pub fn load(xsd: &Path, kind: SchemaKind) -> Result<XmlSchema, SchemaError> {
        static COMPILING: Mutex<()> = Mutex::new(());
        let lib = libxml2()?;
        let _one_at_a_time = COMPILING.lock().unwrap_or_else(|e| e.into_inner());
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
            silence_global_errors(lib);
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
        Ok(XmlSchema {
            lib,
            schema,
            path,
            kind,
        })
    }

    /// Validate a file in a stream; each schema error is a blocking finding with its line.
    ///
    /// libxml2's push parser drives the schema validator through SAX (`xmlSchemaSAXPlug`), with
    /// a SAX handler that builds nothing: the same validator as `xmllint --stream --schema`, the
    /// same verdicts, but without `xmlTextReader`, which re-measures (strlen) a long text node at
    /// each chunk it appends — most of its time on a PES whose PJ are megabytes of base64.
    pub fn validate(&self, file: &Path) -> Result<Vec<Finding>, SchemaError> {
        let err = |d: &str| SchemaError::Schema(self.path.clone(), d.to_owned());
        let file_handle = crate::files::open_regular(file).map_err(|e| err(&e.to_string()))?;
        self.validate_reader(
            &file.display().to_string(),
            std::io::BufReader::with_capacity(256 * 1024, file_handle),
        )
    }

    /// Validate a document held in memory (one Paraphe has just built, for instance); `name`
    /// names it in libxml2's messages.
    pub fn validate_bytes(&self, name: &str, bytes: &[u8]) -> Result<Vec<Finding>, SchemaError> {
        self.validate_reader(name, bytes)
    }

    fn validate_reader(
        &self,
        name: &str,
        input: impl std::io::BufRead,
    ) -> Result<Vec<Finding>, SchemaError> {
        let err = |d: &str| SchemaError::Schema(self.path.clone(), d.to_owned());
        let c_file = CString::new(name).map_err(|_| err("chemin invalide"))?;
        // libxml2 buffers a whole text node or tag too: a token longer than any platform takes
        // stops the check before it is held (minutes and gigabytes otherwise).
        let mut input = crate::xml::limit::TokenLimit::new(input);
        let mut read_error: Option<String> = None;
        let collected = Box::new(Mutex::new(Collected::default()));
        let ctx = &*collected as *const Mutex<Collected> as *mut c_void;
        let api = SaxApi::load(self.lib).map_err(|e| err(&e))?;
        // The SAX handler the validator wraps: every callback empty (nothing is built), marked
        // as a SAX2 handler. Larger than libxml2's struct, all zero.
        let mut handler = vec![0usize; 64].into_boxed_slice();
        // `initialized` follows the 27 callback pointers (SAX.h, unchanged since 2.6).
        let magic_at = 27 * std::mem::size_of::<usize>();
        // SAFETY: writing a u32 inside our own zeroed buffer.
        unsafe {
            (handler.as_mut_ptr() as *mut u8)
                .add(magic_at)
                .cast::<u32>()
                .write_unaligned(XML_SAX2_MAGIC)
        };
        let mut buf = vec![0u8; 256 * 1024];
        let first = read_up_to(&mut input, &mut buf[..4]).map_err(|e| err(&e.to_string()))?;
        // SAFETY: libxml2's public API (xmlschemas.h, parser.h, SAX2.h). Everything created here
        // is freed below in reverse order, before `handler` and `collected` are dropped.
        let valid = unsafe {
            silence_global_errors(self.lib);
            let vctxt = (api.new_valid_ctxt)(self.schema);
            if vctxt.is_null() {
                return Err(err("contexte de validation"));
            }
            (api.set_valid_errors)(vctxt, collect, ctx);
            // Well-formedness errors go to the thread's structured handler.
            (api.set_global_errors)(ctx, collect);
            let mut sax = handler.as_mut_ptr() as *mut c_void;
            let mut user_data: *mut c_void = std::ptr::null_mut();
            let plug = (api.sax_plug)(vctxt, &mut sax, &mut user_data);
            if plug.is_null() {
                (api.free_valid_ctxt)(vctxt);
                silence_global_errors(self.lib);
                return Err(err("activation du schéma"));
            }
            let pctxt = (api.create_push)(
                sax,
                user_data,
                buf.as_ptr() as *const c_char,
                first as c_int,
                c_file.as_ptr(),
            );
            let mut status = if pctxt.is_null() { -1 } else { 0 };
            let locator = Locator {
                line_of: api.line_number,
                parser: pctxt,
            };
            if status == 0 {
                (api.use_options)(pctxt, XML_PARSE_NONET | XML_PARSE_HUGE);
                (api.set_locator)(vctxt, locate, &locator as *const Locator as *mut c_void);
                loop {
                    let n = match input.read(&mut buf) {
                        Ok(n) => n,
                        Err(e) => {
                            read_error = Some(e.to_string());
                            status = -1;
                            break;
                        }
                    };
                    let terminate = c_int::from(n == 0);
                    status = (api.parse_chunk)(
                        pctxt,
                        buf.as_ptr() as *const c_char,
                        n as c_int,
                        terminate,
                    );
                    if status != 0 || n == 0 {
                        break;
                    }
                }
            }
            let valid = status == 0 && (api.is_valid)(vctxt) == 1;
            (api.sax_unplug)(plug);
            if !pctxt.is_null() {
                (api.free_parser)(pctxt);
            }
            (api.free_valid_ctxt)(vctxt);
            silence_global_errors(self.lib);
            valid
        };
        let collected = collected.into_inner().unwrap_or_default();
        let mut findings: Vec<Finding> = collected
            .errors
            .into_iter()
            .map(|(line, message)| {
                Finding::blocking(
                    self.kind.code(),
                    self.kind.message(&super::libxml_fr::french(&message)),
                    Location {
                        ligne: (line > 0).then_some(line),
                        ..Default::default()
                    },
                )
            })
            .collect();
        if let Some(detail) = read_error {
            findings.push(Finding::blocking(
                self.kind.code(),
                self.kind.message(&detail),
                Location::default(),
            ));
        }
        if !valid && findings.is_empty() {
            findings.push(Finding::blocking(
                self.kind.code(),
                self.kind.message("document non valide"),
                Location::default(),
            ));
        }
        Ok(findings)
    }
}

impl Drop for XmlSchema {
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
