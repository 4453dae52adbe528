//! Small helpers: running commands, finding tools, dates, labels.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::MockError;

/// Directories searched for tools in addition to `PATH` (daemons such as
/// `pkcsslotd` live in sbin, which a non-login `PATH` may lack).
const EXTRA_TOOL_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Full path of an executable, searching `PATH` then the sbin directories.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain(EXTRA_TOOL_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when running under CI (`CI` set to anything but empty/`0`/`false`).
pub(crate) fn is_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

/// `true` if the command `name` exists.
///
/// When it is missing: under CI (env `CI` set) this **panics**, because a
/// missing tool must fail CI rather than silently skip tests; on a developer
/// machine it prints a loud `SKIPPED: tool X missing` on stderr and returns
/// `false`, so the calling test can `return` early.
pub fn tool_required(name: &str) -> bool {
    if find_tool(name).is_some() {
        return true;
    }
    if is_ci() {
        panic!("tool `{name}` is missing: it is required in CI (install it in .ci/run)");
    }
    eprintln!("\n*** SKIPPED: tool {name} missing (install it to run this test) ***\n");
    false
}

/// Builds a `Command` for tool `name`, resolved to its full path when found.
pub(crate) fn tool(name: &str) -> Command {
    match find_tool(name) {
        Some(p) => Command::new(p),
        None => Command::new(name),
    }
}

/// Runs `cmd` (stdin from `input`, or null), capturing stdout and stderr;
/// a non-zero exit status is an error carrying both outputs.
pub(crate) fn run(cmd: &mut Command, input: Option<&[u8]>) -> Result<Output, MockError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            MockError::ToolMissing(cmd.get_program().to_string_lossy().into_owned())
        } else {
            MockError::io(format!("cannot start {}", crate::error::render(cmd)), e)
        }
    })?;
    if let Some(data) = input {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // The child may exit before reading everything: ignore EPIPE.
        let _ = stdin.write_all(data);
    }
    let output = child
        .wait_with_output()
        .map_err(|e| MockError::io(format!("waiting for {}", crate::error::render(cmd)), e))?;
    if !output.status.success() {
        return Err(MockError::command(cmd, &output));
    }
    Ok(output)
}

pub(crate) fn write_file(path: &Path, data: impl AsRef<[u8]>) -> Result<(), MockError> {
    std::fs::write(path, data).map_err(|e| MockError::io(format!("writing {}", path.display()), e))
}

pub(crate) fn create_dir_all(path: &Path) -> Result<(), MockError> {
    std::fs::create_dir_all(path)
        .map_err(|e| MockError::io(format!("creating {}", path.display()), e))
}

pub(crate) fn lossy(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

pub(crate) fn os(s: &Path) -> &OsStr {
    s.as_os_str()
}

/// Distinct token label for one test: `<prefix>-<pid>-<n>`, at most 32
/// bytes (the PKCS#11 label size); the prefix is shortened if needed.
pub fn unique_label(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("-{:x}-{n}", std::process::id());
    let room = 32usize.saturating_sub(suffix.len());
    let mut p = String::new();
    for c in prefix.chars() {
        if p.len() + c.len_utf8() > room {
            break;
        }
        p.push(c);
    }
    p + &suffix
}

/// A temporary directory that outlives the process (for the `shared()`
/// fixtures): named `<prefix><pid>-XXXXXX` under the system temp dir.
/// Directories left by earlier test processes that are gone (no
/// `/proc/<pid>`) are removed first, so they do not pile up.
pub(crate) fn process_temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let tmp = std::env::temp_dir();
    if let Ok(rd) = std::fs::read_dir(&tmp) {
        for entry in rd.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(tmp)
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// ASN.1 time for `openssl ca -startdate/-enddate`: UTCTime
/// (`YYMMDDHHMMSSZ`) before 2050, GeneralizedTime (`YYYYMMDDHHMMSSZ`) after,
/// as RFC 5280 wants.
pub(crate) fn asn1_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, (rem / 60) % 60, rem % 60);
    if (1950..2050).contains(&y) {
        format!("{:02}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z", y % 100)
    } else {
        format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z")
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Path of the fault-injecting proxy module `libparaphe_p11_proxy.so`.
///
/// Looks in the target directory (`CARGO_TARGET_DIR`, the one holding the
/// running test executable, or `<workspace>/target`), profiles `debug` and
/// `release`; the most recently built one wins.
///
/// # Panics
/// When the library has not been built: run `cargo build -p paraphe-p11-proxy` first.
pub fn proxy_module() -> PathBuf {
    const LIB: &str = "libparaphe_p11_proxy.so";
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("pkcs11-mocks lives inside the workspace")
        .to_path_buf();
    let mut target_dirs: Vec<PathBuf> = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        target_dirs.push(if t.is_absolute() {
            t
        } else {
            workspace.join(t)
        });
    }
    if let Ok(exe) = std::env::current_exe() {
        // <target>/<profile>/deps/<test-binary>
        if let Some(t) = exe
            .ancestors()
            .find(|a| {
                matches!(
                    a.file_name().and_then(OsStr::to_str),
                    Some("debug" | "release")
                )
            })
            .and_then(Path::parent)
        {
            target_dirs.push(t.to_path_buf());
        }
    }
    target_dirs.push(workspace.join("target"));

    let newest = target_dirs
        .iter()
        .flat_map(|t| [t.join("debug").join(LIB), t.join("release").join(LIB)])
        .filter_map(|p| {
            let mtime = std::fs::metadata(&p).and_then(|m| m.modified()).ok()?;
            Some((mtime, p))
        })
        .max_by_key(|(mtime, _)| *mtime);
    match newest {
        Some((_, p)) => p,
        None => panic!(
            "{LIB} not found in {target_dirs:?} (debug or release): \
             run `cargo build -p paraphe-p11-proxy` first"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(asn1_time(0), "700101000000Z");
        assert_eq!(asn1_time(951_782_400), "000229000000Z"); // 2000-02-29
        assert_eq!(asn1_time(1_767_225_599), "251231235959Z");
        assert_eq!(asn1_time(2_524_608_000), "20500101000000Z");
    }

    #[test]
    fn labels() {
        let a = unique_label("a-very-long-prefix-that-does-not-fit-at-all");
        let b = unique_label("a-very-long-prefix-that-does-not-fit-at-all");
        assert!(a.len() <= 32 && b.len() <= 32, "{a} {b}");
        assert_ne!(a, b);
        assert!(unique_label("é").starts_with("é-"));
    }
}
