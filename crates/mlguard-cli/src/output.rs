//! Writing to the terminal: colour decisions, quiet exits on a closed pipe, and no text
//! that a terminal would obey: everything written through [`Out`] and [`errln!`] has its
//! control characters escaped ([`terminal_safe`]) but for the colours mlguard adds itself.

use std::io::{self, IsTerminal, Write};

use mlguard_findings::terminal_safe;

use crate::args::ColorChoice;

/// Standard output with the run's colour choice.
pub(crate) struct Out {
    pub(crate) color: bool,
    stdout: io::Stdout,
}

impl Out {
    pub(crate) fn new(choice: ColorChoice) -> Out {
        let stdout = io::stdout();
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Out { color, stdout }
    }

    /// Writes `text`, escaped for a terminal.
    pub(crate) fn write(&mut self, text: &str) -> io::Result<()> {
        let mut lock = self.stdout.lock();
        lock.write_all(terminal_safe(text, self.color).as_bytes())
            .and_then(|()| lock.flush())
            .map_err(mark_stdout)
    }

    /// A buffered writer for a stream of lines (`--cells`): one write per 64 KiB instead of
    /// one per line. Flush it before writing anything else.
    pub(crate) fn stream(&self) -> io::BufWriter<io::StdoutLock<'static>> {
        io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
    }

    /// Maps a write error of [`Out::stream`] as [`Out::line`] does (a closed pipe is quiet).
    pub(crate) fn stream_error(e: io::Error) -> io::Error {
        mark_stdout(e)
    }

    /// Writes one line, escaped for a terminal.
    pub(crate) fn line(&mut self, text: &str) -> io::Result<()> {
        let text = terminal_safe(text, self.color);
        let mut lock = self.stdout.lock();
        lock.write_all(text.as_bytes())
            .and_then(|()| lock.write_all(b"\n"))
            .and_then(|()| lock.flush())
            .map_err(mark_stdout)
    }

    /// `text` in bold green (success), when colour is on.
    pub(crate) fn good(&self, text: &str) -> String {
        self.paint("32;1", text)
    }

    /// `text` in bold red (failure), when colour is on.
    pub(crate) fn bad(&self, text: &str) -> String {
        self.paint("31;1", text)
    }

    /// `text` dimmed, when colour is on.
    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// `text` in bold, when colour is on.
    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}

/// Writes one line to standard error, escaped for a terminal (no colour is used there).
pub(crate) fn error_line(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", terminal_safe(text, false));
}

/// `eprintln!` for text that may hold untrusted parts (names, paths, messages): escaped for a
/// terminal by [`error_line`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::error_line(&format!($($arg)*))
    };
}

/// Marks a write to standard output that failed because the reader went away.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

fn mark_stdout(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        e
    }
}

/// Writes bytes to standard output; a closed pipe is marked for [`is_broken_pipe`]. Bytes
/// for a file or a pipe pass unchanged; on a terminal they are shown as text, escaped.
pub(crate) fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut lock = io::stdout().lock();
    let shown;
    let bytes = if lock.is_terminal() {
        shown = terminal_safe(&String::from_utf8_lossy(bytes), false).into_owned();
        shown.as_bytes()
    } else {
        bytes
    };
    lock.write_all(bytes).and_then(|()| lock.flush()).map_err(mark_stdout)
}

/// Whether an error is a write to standard output after its reader went away
/// (`mlguard ... | head`): not worth a word. Other broken pipes are real errors.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

/// Parses a `--delimiter` value.
pub(crate) fn delimiter(s: &str) -> anyhow::Result<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && !matches!(s, "\"" | "\n" | "\r") => {
            Ok(s.as_bytes()[0])
        }
        _ => anyhow::bail!(
            "--delimiter must be one ASCII character other than a quote or newline, or `tab` (got {s:?})"
        ),
    }
}

/// Formats a count with thousands separators: 1234567 -> 1,234,567.
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_numbers() {
        assert_eq!(delimiter(",").expect("comma"), b',');
        assert_eq!(delimiter("tab").expect("tab"), b'\t');
        assert_eq!(delimiter(";").expect("semicolon"), b';');
        assert!(delimiter("\"").is_err());
        assert!(delimiter(",,").is_err());
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
