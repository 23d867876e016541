//! Development aid: single-thread parse-only vs full-audit time over a directory of .py files.
use std::time::Instant;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                stack.push(e.path());
            }
        } else if p.extension().is_some_and(|e| e == "py") {
            files.push(std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    let bytes: usize = files.iter().map(String::len).sum();
    let t = Instant::now();
    for f in &files {
        let p =
            ruff_python_parser::parse_unchecked_source(f, ruff_python_ast::PySourceType::Python);
        std::hint::black_box(p);
    }
    let parse = t.elapsed();
    let t = Instant::now();
    let mut n = 0;
    for f in &files {
        n += mlguard_pyaudit::audit_source("x.py", f, &mlguard_pyaudit::AuditOptions::default())
            .len();
    }
    let full = t.elapsed();
    println!(
        "{} files, {} MB: parse {:?} ({:.0} MB/s), audit {:?}, {n} findings",
        files.len(),
        bytes >> 20,
        parse,
        bytes as f64 / 1e6 / parse.as_secs_f64(),
        full
    );
}
