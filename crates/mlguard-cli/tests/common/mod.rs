//! Helpers shared by the CLI test files.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `mlguard ARGS` in `dir` with no colour and no standard input.
pub(crate) fn mlguard(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("mlguard runs")
}
