//! The Python package's test suite: builds the wheel's native module into a virtualenv
//! (with maturin, as `pip install .` does, in the dev profile to reuse this build's
//! compiled crates) beside real pandas, polars, pyarrow, NumPy, scikit-learn, joblib and
//! pre-commit, then runs `pytest python/tests`. Fails (never skips) when Python, pip or
//! maturin fail.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/python-venv"));
    let python = mlguard_testkit::python_venv(
        &venv,
        "import maturin, pytest, numpy, pandas, sklearn, joblib, pre_commit, polars, pyarrow",
        &[
            "maturin>=1.9.4,<2",
            "pytest",
            "numpy",
            "pandas",
            "polars",
            "pyarrow",
            "scikit-learn",
            "joblib",
            "pre-commit",
        ],
    );
    // The module built by maturin and installed into the virtualenv (with the `mlguard`
    // command), as an editable install of the package's Python files.
    let built = Command::new(venv.join("bin/maturin"))
        .args(["develop", "--quiet"])
        .current_dir(here.join(".."))
        .env("VIRTUAL_ENV", &venv)
        .env(
            "PATH",
            format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default()),
        )
        .status()
        .expect("run maturin");
    assert!(built.success(), "maturin develop failed");
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(here.join("tests"))
        .env(
            "PATH",
            format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default()),
        )
        .current_dir(&here)
        .output()
        .expect("run pytest");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "pytest failed:\n{text}");
}
