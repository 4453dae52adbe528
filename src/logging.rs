//! Logging: a daily-rotated file in the data folder (kept 14 days), plus standard error when the
//! command line asks for `-v`. No PIN, password or key material is ever passed to `tracing`.

use std::path::{Path, PathBuf};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Keeps the background writer alive; drop it at the end of `main` to flush.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Create `dir` readable by the user only (logs name files and certificates).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Write (or replace) a file readable by its owner only (reports, keys, files received), and
/// sync it to disk before returning: the caller may then tell others it is safely kept.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Start logging. `verbosity` counts `-v` flags: 0 = file only (info), 1 = also stderr (info),
/// 2+ = debug everywhere. A log folder that cannot be created only disables the file.
pub fn init(verbosity: u8, data_dir: Option<PathBuf>) -> LogGuard {
    let level = if verbosity >= 2 { "debug" } else { "info" };
    let filter =
        || EnvFilter::try_from_env("PARAPHE_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let mut guard = None;
    let file_layer = data_dir.and_then(|dir| {
        let logs = dir.join("journaux");
        if let Err(e) = create_private_dir(&logs) {
            eprintln!(
                "{}",
                crate::messages::tf(
                    "commun.journal_impossible",
                    &[
                        ("chemin", &logs.display().to_string()),
                        ("detail", &e.to_string())
                    ]
                )
            );
            return None;
        }
        let appender = tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("paraphe")
            .filename_suffix("log")
            .max_log_files(14)
            .build(&logs)
            .ok()?;
        // A small queue, waited on when full rather than dropping lines: Paraphe logs a few
        // lines per action, and the default queue (128 000 lines) costs megabytes of memory set
        // up at every start.
        let (writer, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(1024)
            .lossy(false)
            .finish(appender);
        guard = Some(g);
        Some(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(filter()),
        )
    });
    let stderr_layer = (verbosity > 0).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    LogGuard(guard)
}
