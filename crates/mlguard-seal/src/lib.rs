//! Sealed artifacts for mlguard: any file (a dataset, a model) encrypted with a streaming
//! AES-256-GCM under a per-artifact data key, the data key wrapped by a versioned master
//! key, the header signed with ECDSA P-256, and everything verified before a single byte
//! of plaintext is released.
//!
//! This crate depends on no other mlguard crate, so it can be reviewed alone. The format is
//! specified in `docs/format.md`.
//!
//! ```
//! use mlguard_seal::{Kind, SealKeys, SealOptions, SignerPolicy, SigningKey, SymmetricKey};
//! use std::io::Cursor;
//!
//! let keys = SealKeys::new(vec![(1, SymmetricKey::generate()?)], 1, SigningKey::generate()?, vec![]);
//! let opts = SealOptions { kind: Kind::File, meta: Default::default() };
//! let mut sealed = Vec::new();
//! mlguard_seal::seal(&mut Cursor::new(b"secret weights"), &mut sealed, &keys, &opts)?;
//! let mut plain = Vec::new();
//! mlguard_seal::open(&mut Cursor::new(&sealed), &mut plain, &keys, SignerPolicy::TrustedOnly)?;
//! assert_eq!(plain, b"secret weights");
//! sealed[100] ^= 1;
//! assert!(mlguard_seal::verify(&mut Cursor::new(&sealed), &keys, SignerPolicy::TrustedOnly).is_err());
//! # Ok::<(), mlguard_seal::SealError>(())
//! ```
#![warn(missing_docs)]

mod artifact;
mod atomic;
mod error;
mod keys;
mod keystore;
mod oms;

pub use artifact::{
    AEAD_ALG, AeadParams, Core, Digest, Header, Kind, MAGIC, MAX_HEADER_BYTES, MAX_RECIPIENTS,
    NONCE_PREFIX_LEN, PLAIN_SEGMENT, Recipient, SEGMENT_SIZE, SIG_ALG, SealKeys, SealOptions,
    SignatureInfo, SignerPolicy, TAG_LEN, Verified, now_rfc3339, open, rewrap, seal, seal_as,
    seal_known, verify,
};
pub use atomic::{sync_dir, write_atomic, write_atomic_with};
pub use error::SealError;
pub use keys::{KEY_LEN, PublicKey, SigningKey, SymmetricKey, b64, hex, random, unb64, unhex};
pub use keystore::{
    ARGON2_M_KIB, ARGON2_P, ARGON2_T, KeyInfo, KeyState, Keystore, KmsWrap, MIN_PASSPHRASE_CHARS,
    Secret, UnlockMethod,
};
pub use oms::{
    BUNDLE_MEDIA_TYPE, DEFAULT_IGNORED, ModelManifest, PAYLOAD_TYPE, PREDICATE_TYPE,
    STATEMENT_TYPE, hash_model, key_hint, model_name, sign_manifest, sign_model,
    single_file_manifest, verify_model,
};
