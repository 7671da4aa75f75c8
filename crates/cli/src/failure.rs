//! How a command fails: an exit code and one line on stderr.

use std::fmt::Display;
use std::process::ExitCode;

/// Exit code for invalid input: usage, names, keys, JSON, configuration.
pub const EXIT_INVALID_INPUT: u8 = 2;
/// Exit code for something that does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit code for everything else.
pub const EXIT_OTHER: u8 = 1;

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Invalid input (exit 2).
    pub fn invalid(message: impl Display) -> Self {
        Self {
            code: EXIT_INVALID_INPUT,
            message: message.to_string(),
        }
    }

    /// Not found (exit 3).
    pub fn not_found(message: impl Display) -> Self {
        Self {
            code: EXIT_NOT_FOUND,
            message: message.to_string(),
        }
    }

    /// Anything else (exit 1).
    pub fn other(message: impl Display) -> Self {
        Self {
            code: EXIT_OTHER,
            message: message.to_string(),
        }
    }

    /// A failure with a command-specific exit code (e.g. 4 for a regression found by `diff`).
    pub fn with_code(code: u8, message: impl Display) -> Self {
        Self {
            code,
            message: message.to_string(),
        }
    }

    /// A failed write to stdout. A closed pipe (`perfstore ls | head`) is no failure: the process
    /// ends quietly, as git does.
    pub fn stdout(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            die_of_closed_pipe();
        }
        Failure::other(format!("cannot write to stdout: {e}"))
    }

    /// Prints the one-line message and returns the exit code.
    pub fn report(self) -> ExitCode {
        let line = self.message.lines().collect::<Vec<_>>().join(" ");
        eprintln!("perfstore: {line}");
        ExitCode::from(self.code)
    }
}

impl From<perfstore::Error> for Failure {
    fn from(e: perfstore::Error) -> Self {
        if e.is_invalid_input() {
            Failure::invalid(e)
        } else if e.is_not_found() {
            Failure::not_found(e)
        } else {
            Failure::other(e)
        }
    }
}

impl From<perfstore::NameError> for Failure {
    fn from(e: perfstore::NameError) -> Self {
        Failure::invalid(e)
    }
}

/// Ends the process the way a closed pipe ends git or cat: by SIGPIPE, with no message (a
/// shell sees exit status 141).
pub fn die_of_closed_pipe() -> ! {
    #[cfg(unix)]
    // SAFETY: restores the default action of SIGPIPE and raises it; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(128 + 13)
}

/// Help and version go to stdout with exit 0; a usage error is clap's whole message on stderr
/// (the argument at fault, "did you mean", the valid values, the usage line) with exit 2.
pub fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    // Nothing useful to do if the stream is gone.
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_INVALID_INPUT),
    }
}
