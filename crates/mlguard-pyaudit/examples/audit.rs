//! Prints the findings for the Python files given as arguments (development aid).
fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        for f in
            mlguard_pyaudit::audit_bytes(&path, &bytes, &mlguard_pyaudit::AuditOptions::default())
        {
            println!(
                "{}:{} {} {:?} {}",
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
                f.check,
                f.severity,
                f.message
            );
        }
    }
}
