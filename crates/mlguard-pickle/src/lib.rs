//! Model-file scanner for mlguard: finds code hidden in pickles without executing
//! anything. Imports are judged by an allowlist of what model files legitimately use;
//! dangerous and unknown imports, and malformed streams, are findings.
//!
//! ```
//! use mlguard_pickle::{ScanOptions, scan_bytes};
//!
//! // cos\nsystem\n(S'echo hi'\ntR.  — os.system("echo hi") when unpickled
//! let evil = b"cos\nsystem\n(S'echo hi'\ntR.";
//! let findings = scan_bytes("evil.pkl", evil, &ScanOptions::default());
//! assert_eq!(findings[0].check, "model.pickle.dangerous-call");
//! ```
#![warn(missing_docs)]

pub mod archive;
pub mod classify;
pub mod compressed;
mod keras;
mod npy;
pub mod pickle;
mod scan;
mod zip;

pub use classify::{Behavior, Class, behavior, classify, compat_name};
pub use compressed::Codec;
pub use pickle::{Analysis, Import, Issue, IssueKind, LegacyMember, analyze, analyze_legacy};
pub use scan::{
    Format, MODEL_EXTENSIONS, ScanOptions, check_allow, detect, legacy_torch_layout, scan_bytes,
};
