//! What the real-library tests share: the test suite's virtualenv.

use std::path::PathBuf;

/// The `python` of the virtualenv with the libraries whose files are scanned (NumPy,
/// SciPy, scikit-learn, pandas, joblib, safetensors from PyPI), made once under Cargo's
/// target dir (the tests of one binary run in parallel).
pub(crate) fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let dir = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/model-venv"));
            mlguard_testkit::python_venv(
                &dir,
                "import sklearn, numpy, scipy, pandas, joblib, safetensors",
                &["numpy", "scipy", "scikit-learn", "pandas", "joblib", "safetensors"],
            )
        })
        .clone()
}
