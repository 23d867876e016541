//! The `mlguard` command: [`mlguard_cli::main_with_args`] with this process's arguments.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: parsing Python, pickles and tables allocates
/// millions of short-lived nodes, and glibc's malloc was a fifth of `scan code`'s time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mlguard_cli::main_with_args(std::env::args_os())
}
