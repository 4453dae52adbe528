//! Error type of the test helpers.

use std::fmt;
use std::io;
use std::process::{Command, Output};

/// Everything that can go wrong while building the TEST-ONLY PKI or
/// provisioning a token.
#[derive(Debug)]
pub enum MockError {
    /// A file-system operation failed.
    Io { context: String, source: io::Error },
    /// An external command could not be started or exited with an error.
    Command {
        /// The command line, for humans (program and arguments).
        command: String,
        /// Exit code, `None` if killed by a signal or never started.
        status: Option<i32>,
        stdout: String,
        stderr: String,
    },
    /// A required external tool is not installed.
    ToolMissing(String),
    /// Anything else (unsupported key type on a token, daemon that does not
    /// come up, unexpected token state...).
    Setup(String),
}

impl MockError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        MockError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn command(cmd: &Command, output: &Output) -> Self {
        MockError::Command {
            command: render(cmd),
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

pub(crate) fn render(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MockError::Io { context, source } => write!(f, "{context}: {source}"),
            MockError::Command {
                command,
                status,
                stdout,
                stderr,
            } => {
                match status {
                    Some(code) => write!(f, "command failed (exit status {code}): {command}")?,
                    None => write!(f, "command failed (no exit status): {command}")?,
                }
                if !stderr.trim().is_empty() {
                    write!(f, "\n--- stderr ---\n{}", stderr.trim_end())?;
                }
                if !stdout.trim().is_empty() {
                    write!(f, "\n--- stdout ---\n{}", stdout.trim_end())?;
                }
                Ok(())
            }
            MockError::ToolMissing(t) => write!(f, "required tool `{t}` is not installed"),
            MockError::Setup(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for MockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MockError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
