//! The vault's key material on disk.
//!
//! ```text
//! VAULT/
//!   keyring.json         master keys by version and the signing key, each wrapped
//!                        (AES-256-GCM) by a key-encryption key from a passphrase
//!                        (Argon2id) or a key file (HKDF-SHA256)
//!   signing/public.pem   this vault's signing public key
//!   signing/trusted/     public keys (NAME.pem) whose signatures this vault accepts
//! ```
//!
//! The rest of the vault directory (the catalog, the sealed objects) belongs to the vault's
//! storage ports, not to the key store.

use std::fs;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::artifact::{SealKeys, now_rfc3339};
use crate::atomic::write_atomic;
use crate::error::SealError;
use crate::keys::{KEY_LEN, PublicKey, SigningKey, SymmetricKey, b64, hex, random, unb64, unhex};

/// Argon2id memory cost (KiB): OWASP's minimum recommendation (19 MiB).
pub const ARGON2_M_KIB: u32 = 19 * 1024;
/// Argon2id iterations: OWASP's minimum with 19 MiB.
pub const ARGON2_T: u32 = 2;
/// Argon2id parallelism.
pub const ARGON2_P: u32 = 1;
/// Upper bounds on the Argon2id parameters read from a keyring, so a crafted file cannot
/// make unlocking take unbounded memory or time.
const ARGON2_MAX_M_KIB: u32 = 4 * 1024 * 1024;
const ARGON2_MAX_T: u32 = 64;
/// Shortest passphrase accepted when a vault is created.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Largest keyring file read.
const MAX_KEYRING_BYTES: u64 = 4 << 20;

const KEK_INFO: &[u8] = b"mlguard-keyring-v1 key-file kek";
const WRAP_CONTEXT: &str = "mlguard-keyring-v1 ";

/// The secret that unlocks a vault (zeroised when dropped, not `Debug`):
///
/// ```compile_fail
/// let s = mlguard_seal::Secret::Passphrase(zeroize::Zeroizing::new(String::from("x")));
/// println!("{s:?}");
/// ```
pub enum Secret {
    /// A passphrase.
    Passphrase(Zeroizing<String>),
    /// The content of a key file (32 random bytes); for a vault whose keys a KMS wraps,
    /// its offline recovery key file.
    KeyFile(Zeroizing<Vec<u8>>),
    /// The keyring's key-encryption key itself, as a KMS returned it (32 bytes).
    Kek(Zeroizing<Vec<u8>>),
}

impl Secret {
    /// A second copy (zeroised when dropped, as this one), for a process that must unlock
    /// again later (a newer keyring published by another server).
    pub fn duplicate(&self) -> Secret {
        match self {
            Secret::Passphrase(p) => Secret::Passphrase(p.clone()),
            Secret::KeyFile(k) => Secret::KeyFile(k.clone()),
            Secret::Kek(k) => Secret::Kek(k.clone()),
        }
    }

    /// Reads a key file, refusing one that is not 32 bytes or that group or others can read.
    pub fn from_key_file(path: &Path) -> Result<Secret, SealError> {
        check_private(path)?;
        let bytes = Zeroizing::new(
            fs::read(path)
                .map_err(SealError::io(format!("cannot read key file {}", path.display())))?,
        );
        if bytes.len() != KEY_LEN {
            return Err(SealError::Refused(format!(
                "key file {} must hold exactly {KEY_LEN} bytes",
                path.display()
            )));
        }
        Ok(Secret::KeyFile(bytes))
    }

    /// Creates a new key file of 32 random bytes, readable by its owner only.
    pub fn create_key_file(path: &Path) -> Result<Secret, SealError> {
        let bytes: [u8; KEY_LEN] = random()?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(path)
            .map_err(SealError::io(format!("cannot create key file {}", path.display())))?;
        std::io::Write::write_all(&mut f, &bytes)
            .map_err(SealError::io(format!("cannot write key file {}", path.display())))?;
        f.sync_all().map_err(SealError::io(format!("cannot sync key file {}", path.display())))?;
        Ok(Secret::KeyFile(Zeroizing::new(bytes.to_vec())))
    }
}

/// Refuses a secret file that group or others may read.
fn check_private(path: &Path) -> Result<(), SealError> {
    let meta = fs::metadata(path)
        .map_err(SealError::io(format!("cannot read key file {}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(SealError::Refused(format!(
                "key file {} is readable by group or others; run `chmod 600 {}`",
                path.display(),
                path.display()
            )));
        }
    }
    if !meta.is_file() {
        return Err(SealError::Refused(format!(
            "key file {} is not a regular file",
            path.display()
        )));
    }
    Ok(())
}

/// How a vault is unlocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockMethod {
    /// With a passphrase.
    Passphrase,
    /// With a key file.
    KeyFile,
    /// With a key in an external KMS (or its offline recovery key file).
    Kms,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "method", deny_unknown_fields)]
enum UnlockInfo {
    #[serde(rename = "passphrase")]
    Passphrase { kdf: String, m_kib: u32, t: u32, p: u32, salt: String },
    #[serde(rename = "key-file")]
    KeyFile { kdf: String, salt: String },
    /// A random key-encryption key, wrapped by a KMS key (bound to the vault by its
    /// encryption context) and, for recovery without the KMS, by a key file.
    #[serde(rename = "kms")]
    Kms { key_id: String, vault: String, wrapped: String, recovery: RecoveryWrap },
}

/// The key-encryption key wrapped (AES-256-GCM) by a key derived (HKDF-SHA256) from an
/// offline recovery key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryWrap {
    kdf: String,
    salt: String,
    nonce: String,
    wrapped: String,
}

/// How a KMS wraps a vault's key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsWrap {
    /// The KMS key (id, ARN or alias).
    pub key_id: String,
    /// The vault's random id: the encryption context that binds the wrap to this vault.
    pub vault: String,
    /// The ciphertext blob the KMS returned (base64).
    pub wrapped: String,
}

/// State of a master key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Seals new artifacts and opens old ones.
    Active,
    /// Opens artifacts sealed under it; seals nothing new.
    Previous,
    /// Destroyed: artifacts wrapped only for it no longer open.
    Retired,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MasterEntry {
    version: u32,
    created: String,
    state: KeyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrapped: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningEntry {
    alg: String,
    key_id: String,
    public_key: String,
    nonce: String,
    wrapped: String,
}

/// The pseudonym key: HMAC key of the keyed pseudonyms of personal data. Wrapped like the
/// master keys but never rotated with them, so a person keeps their pseudonym across
/// master-key rotations and datasets still join.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    created: String,
    nonce: String,
    wrapped: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: u32,
    unlock: UnlockInfo,
    master_keys: Vec<MasterEntry>,
    signing_key: SigningEntry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pseudonym_key: Option<SecretEntry>,
    /// The audit log's key seed (its checkpoint signing key and entry MAC key derive from
    /// it); never rotated, so the whole log verifies under one key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit_key: Option<SecretEntry>,
}

/// One master key version, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The version.
    pub version: u32,
    /// When it was created.
    pub created: String,
    /// Its state.
    pub state: KeyState,
}

/// A vault's key store (locked until [`Keystore::unlock`]).
pub struct Keystore {
    root: PathBuf,
    ring: KeyringFile,
}

fn kek(info: &UnlockInfo, secret: &Secret) -> Result<SymmetricKey, SealError> {
    match (info, secret) {
        (UnlockInfo::Passphrase { kdf, m_kib, t, p, salt }, Secret::Passphrase(pass)) => {
            if kdf != "argon2id"
                || *m_kib > ARGON2_MAX_M_KIB
                || *t > ARGON2_MAX_T
                || *p == 0
                || *p > 16
            {
                return Err(SealError::Refused(
                    "the keyring's passphrase parameters are not acceptable".into(),
                ));
            }
            let salt = unhex::<16>(salt)
                .ok_or(SealError::Refused("the keyring's salt is malformed".into()))?;
            let params = argon2::Params::new(*m_kib, *t, *p, Some(KEY_LEN)).map_err(|_| {
                SealError::Refused("the keyring's passphrase parameters are not acceptable".into())
            })?;
            let argon =
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let mut out = Zeroizing::new([0u8; KEY_LEN]);
            argon
                .hash_password_into(pass.as_bytes(), &salt, out.as_mut())
                .map_err(|_| SealError::WrongSecret)?;
            SymmetricKey::from_slice(out.as_ref())
        }
        (UnlockInfo::KeyFile { kdf, salt }, Secret::KeyFile(bytes)) => {
            if kdf != "hkdf-sha256" {
                return Err(SealError::Refused(
                    "the keyring's key-file derivation is not acceptable".into(),
                ));
            }
            let salt = unhex::<32>(salt)
                .ok_or(SealError::Refused("the keyring's salt is malformed".into()))?;
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(bytes);
            let okm = prk.expand(&[KEK_INFO], &aead::AES_256_GCM)?;
            let mut out = Zeroizing::new([0u8; KEY_LEN]);
            okm.fill(out.as_mut())?;
            SymmetricKey::from_slice(out.as_ref())
        }
        (UnlockInfo::Kms { .. }, Secret::Kek(k)) => {
            SymmetricKey::from_slice(k).map_err(|_| SealError::WrongSecret)
        }
        (UnlockInfo::Kms { recovery, .. }, Secret::KeyFile(bytes)) => {
            let rk = recovery_key(recovery, bytes)?;
            let k = open_secret(&rk, KEK_LABEL, &recovery.nonce, &recovery.wrapped)?;
            SymmetricKey::from_slice(&k).map_err(|_| SealError::WrongSecret)
        }
        (UnlockInfo::Passphrase { .. }, Secret::KeyFile(_)) => {
            Err(SealError::UnlockMethod { needs: "a passphrase", given: "a key file" })
        }
        (UnlockInfo::KeyFile { .. }, Secret::Passphrase(_)) => {
            Err(SealError::UnlockMethod { needs: "a key file", given: "a passphrase" })
        }
        (UnlockInfo::Kms { .. }, Secret::Passphrase(_)) => Err(SealError::UnlockMethod {
            needs: "its KMS key or its recovery key file",
            given: "a passphrase",
        }),
        (UnlockInfo::Passphrase { .. }, Secret::Kek(_)) => {
            Err(SealError::UnlockMethod { needs: "a passphrase", given: "a KMS key" })
        }
        (UnlockInfo::KeyFile { .. }, Secret::Kek(_)) => {
            Err(SealError::UnlockMethod { needs: "a key file", given: "a KMS key" })
        }
    }
}

const KEK_LABEL: &str = "kek";
const RECOVERY_INFO: &[u8] = b"mlguard-keyring-v1 recovery kek";

/// The key that wraps a KMS vault's key-encryption key for recovery, from its key file.
fn recovery_key(r: &RecoveryWrap, bytes: &[u8]) -> Result<SymmetricKey, SealError> {
    if r.kdf != "hkdf-sha256" {
        return Err(SealError::Refused(
            "the keyring's recovery derivation is not acceptable".into(),
        ));
    }
    let salt =
        unhex::<32>(&r.salt).ok_or(SealError::Refused("the keyring's salt is malformed".into()))?;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(bytes);
    let okm = prk.expand(&[RECOVERY_INFO], &aead::AES_256_GCM)?;
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    okm.fill(out.as_mut())?;
    SymmetricKey::from_slice(out.as_ref())
}

fn seal_secret(
    kek: &SymmetricKey,
    label: &str,
    secret: &[u8],
) -> Result<(String, String), SealError> {
    let nonce: [u8; 12] = random()?;
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, kek.as_bytes())?);
    let mut buf = Zeroizing::new(secret.to_vec());
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(format!("{WRAP_CONTEXT}{label}")),
        &mut *buf,
    )?;
    Ok((hex(&nonce), b64(&buf)))
}

fn open_secret(
    kek: &SymmetricKey,
    label: &str,
    nonce: &str,
    wrapped: &str,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let nonce = unhex::<12>(nonce).ok_or(SealError::WrongSecret)?;
    let mut buf = Zeroizing::new(unb64(wrapped).ok_or(SealError::WrongSecret)?);
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, kek.as_bytes())?);
    let n = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(format!("{WRAP_CONTEXT}{label}")),
            &mut buf,
        )
        .map_err(|_| SealError::WrongSecret)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

const PSEUDONYM_LABEL: &str = "pseudonym";
const AUDIT_LABEL: &str = "audit";

/// A fresh random 32-byte secret, wrapped under `label`.
fn new_secret(kek: &SymmetricKey, label: &str) -> Result<SecretEntry, SealError> {
    let key = SymmetricKey::generate()?;
    let (nonce, wrapped) = seal_secret(kek, label, key.as_bytes())?;
    Ok(SecretEntry { created: now_rfc3339(), nonce, wrapped })
}

impl Keystore {
    /// Creates a vault at `root`: directories, a random master key (version 1) and a
    /// signing key, both wrapped under `secret`. Refuses an existing vault.
    pub fn init(root: &Path, secret: &Secret) -> Result<Keystore, SealError> {
        Keystore::refuse_existing(root)?;
        if let Secret::Passphrase(p) = secret
            && p.chars().count() < MIN_PASSPHRASE_CHARS
        {
            return Err(SealError::Refused(format!(
                "the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
            )));
        }
        let unlock = match secret {
            Secret::Passphrase(_) => UnlockInfo::Passphrase {
                kdf: "argon2id".into(),
                m_kib: ARGON2_M_KIB,
                t: ARGON2_T,
                p: ARGON2_P,
                salt: hex(&random::<16>()?),
            },
            Secret::KeyFile(_) => {
                UnlockInfo::KeyFile { kdf: "hkdf-sha256".into(), salt: hex(&random::<32>()?) }
            }
            Secret::Kek(_) => {
                return Err(SealError::Refused(
                    "a vault whose keys a KMS wraps is created with Keystore::init_kms".into(),
                ));
            }
        };
        let kek = kek(&unlock, secret)?;
        Keystore::create(root, unlock, &kek)
    }

    /// Creates a vault at `root` whose key-encryption key `kek` a KMS wrapped as `kms`,
    /// also wrapped by the recovery key file `recovery` (kept offline by an administrator:
    /// it unlocks the vault if the KMS key is lost or disabled).
    pub fn init_kms(
        root: &Path,
        kek: &[u8],
        kms: KmsWrap,
        recovery: &Secret,
    ) -> Result<Keystore, SealError> {
        Keystore::refuse_existing(root)?;
        let kek = &SymmetricKey::from_slice(kek)?;
        let Secret::KeyFile(bytes) = recovery else {
            return Err(SealError::UnlockMethod {
                needs: "a recovery key file",
                given: "a passphrase",
            });
        };
        let mut r = RecoveryWrap {
            kdf: "hkdf-sha256".into(),
            salt: hex(&random::<32>()?),
            nonce: String::new(),
            wrapped: String::new(),
        };
        let rk = recovery_key(&r, bytes)?;
        (r.nonce, r.wrapped) = seal_secret(&rk, KEK_LABEL, kek.as_bytes())?;
        let unlock = UnlockInfo::Kms {
            key_id: kms.key_id,
            vault: kms.vault,
            wrapped: kms.wrapped,
            recovery: r,
        };
        Keystore::create(root, unlock, kek)
    }

    /// How a KMS wraps this vault's keys, if it does.
    pub fn kms(&self) -> Option<KmsWrap> {
        match &self.ring.unlock {
            UnlockInfo::Kms { key_id, vault, wrapped, .. } => Some(KmsWrap {
                key_id: key_id.clone(),
                vault: vault.clone(),
                wrapped: wrapped.clone(),
            }),
            _ => None,
        }
    }

    fn refuse_existing(root: &Path) -> Result<(), SealError> {
        if root.join("keyring.json").exists() {
            return Err(SealError::Refused(format!(
                "{} is already a vault (it has a keyring.json)",
                root.display()
            )));
        }
        Ok(())
    }

    /// Writes a new keyring at `root`: a master key (version 1), a signing key, the
    /// pseudonym and audit keys, all wrapped by `kek`, which `unlock` recovers.
    fn create(root: &Path, unlock: UnlockInfo, kek: &SymmetricKey) -> Result<Keystore, SealError> {
        Keystore::refuse_existing(root)?;
        for dir in [root.to_path_buf(), root.join("signing"), root.join("signing/trusted")] {
            fs::create_dir_all(&dir)
                .map_err(SealError::io(format!("cannot create {}", dir.display())))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(root, fs::Permissions::from_mode(0o700))
                .map_err(SealError::io(format!("cannot restrict {}", root.display())))?;
        }
        let master = SymmetricKey::generate()?;
        let (nonce, wrapped) = seal_secret(kek, "master:1", master.as_bytes())?;
        let signer = SigningKey::generate()?;
        let public = signer.public_key();
        let (snonce, swrapped) = seal_secret(kek, "signing", signer.pkcs8())?;
        let pseudonym_key = Some(new_secret(kek, PSEUDONYM_LABEL)?);
        let audit_key = Some(new_secret(kek, AUDIT_LABEL)?);
        let ring = KeyringFile {
            format: 1,
            unlock,
            master_keys: vec![MasterEntry {
                version: 1,
                created: now_rfc3339(),
                state: KeyState::Active,
                nonce: Some(nonce),
                wrapped: Some(wrapped),
            }],
            signing_key: SigningEntry {
                alg: crate::artifact::SIG_ALG.into(),
                key_id: public.key_id(),
                public_key: b64(public.spki_der()),
                nonce: snonce,
                wrapped: swrapped,
            },
            pseudonym_key,
            audit_key,
        };
        let store = Keystore { root: root.to_path_buf(), ring };
        write_atomic(&root.join("signing/public.pem"), public.to_pem().as_bytes(), true)?;
        store.save()?;
        Ok(store)
    }

    /// Opens the vault at `root` (still locked).
    pub fn open(root: &Path) -> Result<Keystore, SealError> {
        let path = root.join("keyring.json");
        let bad = |reason: String| SealError::Keystore { path: path.clone(), reason };
        let meta = fs::metadata(&path).map_err(|_| SealError::NoVault(root.to_path_buf()))?;
        if meta.len() > MAX_KEYRING_BYTES {
            return Err(bad("the keyring is implausibly large".into()));
        }
        let text = fs::read_to_string(&path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        Keystore::from_text(root, &text)
    }

    /// The keyring of the vault at `root` as `text` (a copy kept elsewhere, such as a
    /// shared catalog), checked as [`Keystore::open`] checks the file (still locked).
    pub fn from_text(root: &Path, text: &str) -> Result<Keystore, SealError> {
        let bad = |reason: String| SealError::Keystore { path: root.join("keyring.json"), reason };
        if text.len() as u64 > MAX_KEYRING_BYTES {
            return Err(bad("the keyring is implausibly large".into()));
        }
        let ring: KeyringFile =
            serde_json::from_str(text).map_err(|e| bad(format!("malformed: {e}")))?;
        if ring.format != 1 {
            return Err(bad(format!("unknown keyring format {}", ring.format)));
        }
        if ring.master_keys.iter().filter(|k| k.state == KeyState::Active).count() != 1 {
            return Err(bad("exactly one master key must be active".into()));
        }
        Ok(Keystore { root: root.to_path_buf(), ring })
    }

    /// The keyring as text (every key wrapped), as `keyring.json` holds it.
    pub fn to_text(&self) -> Result<String, SealError> {
        serde_json::to_string_pretty(&self.ring).map_err(|e| SealError::Key(e.to_string()))
    }

    /// The newest master key version.
    pub fn newest_version(&self) -> u32 {
        self.ring.master_keys.iter().map(|k| k.version).max().unwrap_or(0)
    }

    /// Replaces `keyring.json` with this keyring (a newer copy kept elsewhere).
    pub fn save_here(&self) -> Result<(), SealError> {
        self.save()
    }

    fn save(&self) -> Result<(), SealError> {
        write_atomic(&self.root.join("keyring.json"), self.to_text()?.as_bytes(), true)
    }

    /// The vault directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How this vault is unlocked.
    pub fn method(&self) -> UnlockMethod {
        match self.ring.unlock {
            UnlockInfo::Passphrase { .. } => UnlockMethod::Passphrase,
            UnlockInfo::KeyFile { .. } => UnlockMethod::KeyFile,
            UnlockInfo::Kms { .. } => UnlockMethod::Kms,
        }
    }

    /// The master key versions and their states.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.ring
            .master_keys
            .iter()
            .map(|k| KeyInfo { version: k.version, created: k.created.clone(), state: k.state })
            .collect()
    }

    /// This vault's signing public key.
    pub fn signing_public(&self) -> Result<PublicKey, SealError> {
        let der = unb64(&self.ring.signing_key.public_key)
            .ok_or_else(|| SealError::Key("the keyring's public key is malformed".into()))?;
        PublicKey::from_spki_der(&der)
    }

    /// The trusted public keys (`signing/trusted/*.pem`), by name.
    pub fn trusted(&self) -> Result<Vec<(String, PublicKey)>, SealError> {
        let dir = self.root.join("signing/trusted");
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(out) };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("pem") {
                continue;
            }
            let text = fs::read_to_string(&p)
                .map_err(SealError::io(format!("cannot read {}", p.display())))?;
            let key = PublicKey::from_pem(&text)
                .map_err(|e| SealError::Key(format!("{}: {e}", p.display())))?;
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, key));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Trusts a public key under `name`. Returns its key id.
    pub fn trust(&self, pem: &str, name: &str) -> Result<String, SealError> {
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            return Err(SealError::Refused(format!(
                "{name:?} is not a valid key name (letters, digits, - _ .)"
            )));
        }
        let key = PublicKey::from_pem(pem)?;
        write_atomic(
            &self.root.join(format!("signing/trusted/{name}.pem")),
            key.to_pem().as_bytes(),
            false,
        )?;
        Ok(key.key_id())
    }

    /// Unlocks the keys. A wrong passphrase or key file is [`SealError::WrongSecret`].
    pub fn unlock(&self, secret: &Secret) -> Result<SealKeys, SealError> {
        let kek = kek(&self.ring.unlock, secret)?;
        let mut masters = Vec::new();
        let mut active = 0;
        for k in &self.ring.master_keys {
            if k.state == KeyState::Retired {
                continue;
            }
            let (Some(nonce), Some(wrapped)) = (&k.nonce, &k.wrapped) else {
                return Err(SealError::Keystore {
                    path: self.root.join("keyring.json"),
                    reason: format!("master key {} has no key material", k.version),
                });
            };
            let bytes = open_secret(&kek, &format!("master:{}", k.version), nonce, wrapped)?;
            masters.push((
                k.version,
                SymmetricKey::from_slice(&bytes).map_err(|_| SealError::WrongSecret)?,
            ));
            if k.state == KeyState::Active {
                active = k.version;
            }
        }
        let s = &self.ring.signing_key;
        let pkcs8 = open_secret(&kek, "signing", &s.nonce, &s.wrapped)?;
        let signer = SigningKey::from_pkcs8(&pkcs8)?;
        let trusted = self.trusted()?.into_iter().map(|(_, k)| k).collect();
        let mut keys = SealKeys::new(masters, active, signer, trusted);
        let unwrap = |entry: &SecretEntry, label: &str| -> Result<SymmetricKey, SealError> {
            let bytes = open_secret(&kek, label, &entry.nonce, &entry.wrapped)?;
            SymmetricKey::from_slice(&bytes).map_err(|_| SealError::WrongSecret)
        };
        if let Some(p) = &self.ring.pseudonym_key {
            keys.set_pseudonym_key(unwrap(p, PSEUDONYM_LABEL)?);
        }
        if let Some(a) = &self.ring.audit_key {
            keys.set_audit_key(unwrap(a, AUDIT_LABEL)?);
        }
        Ok(keys)
    }

    /// Whether the vault has its pseudonym and audit keys (vaults created by an mlguard
    /// before they existed do not).
    pub fn has_service_keys(&self) -> bool {
        self.ring.pseudonym_key.is_some() && self.ring.audit_key.is_some()
    }

    /// Adds the pseudonym and audit keys a vault created by an older mlguard lacks.
    pub fn add_service_keys(&mut self, secret: &Secret) -> Result<(), SealError> {
        if self.has_service_keys() {
            return Ok(());
        }
        self.unlock(secret)?; // the secret must be right before anything changes
        let kek = kek(&self.ring.unlock, secret)?;
        if self.ring.pseudonym_key.is_none() {
            self.ring.pseudonym_key = Some(new_secret(&kek, PSEUDONYM_LABEL)?);
        }
        if self.ring.audit_key.is_none() {
            self.ring.audit_key = Some(new_secret(&kek, AUDIT_LABEL)?);
        }
        self.save()
    }

    /// Adds a new master key version and makes it active; earlier non-retired versions
    /// become `previous` (they still open artifacts). Returns the new version.
    pub fn rotate(&mut self, secret: &Secret) -> Result<u32, SealError> {
        self.unlock(secret)?; // the secret must be right before anything changes
        let kek = kek(&self.ring.unlock, secret)?;
        let version = self.ring.master_keys.iter().map(|k| k.version).max().unwrap_or(0) + 1;
        let master = SymmetricKey::generate()?;
        let (nonce, wrapped) = seal_secret(&kek, &format!("master:{version}"), master.as_bytes())?;
        for k in &mut self.ring.master_keys {
            if k.state == KeyState::Active {
                k.state = KeyState::Previous;
            }
        }
        self.ring.master_keys.push(MasterEntry {
            version,
            created: now_rfc3339(),
            state: KeyState::Active,
            nonce: Some(nonce),
            wrapped: Some(wrapped),
        });
        self.save()?;
        Ok(version)
    }

    /// Retires (destroys) every `previous` master key: artifacts wrapped only for those
    /// versions will not open any more. Returns the versions retired.
    pub fn retire_previous(&mut self) -> Result<Vec<u32>, SealError> {
        let mut retired = Vec::new();
        for k in &mut self.ring.master_keys {
            if k.state == KeyState::Previous {
                k.state = KeyState::Retired;
                k.nonce = None;
                k.wrapped = None;
                retired.push(k.version);
            }
        }
        self.save()?;
        Ok(retired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Secret {
        Secret::Passphrase(Zeroizing::new(s.to_owned()))
    }

    #[test]
    fn a_kms_vault_opens_with_its_kek_or_its_recovery_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("v");
        let kek = SymmetricKey::generate().expect("kek");
        let recovery = Secret::KeyFile(Zeroizing::new(vec![7u8; 32]));
        let wrap = KmsWrap {
            key_id: "alias/mlguard".into(),
            vault: "ab".repeat(16),
            wrapped: "YmxvYg==".into(),
        };
        let phrase = pass("long enough phrase");
        assert!(Keystore::init_kms(&root, kek.as_bytes(), wrap.clone(), &phrase).is_err());
        let store =
            Keystore::init_kms(&root, kek.as_bytes(), wrap.clone(), &recovery).expect("init");
        assert_eq!(store.method(), UnlockMethod::Kms);
        let store = Keystore::open(&root).expect("open");
        assert_eq!(store.kms(), Some(wrap));
        let by_kms =
            store.unlock(&Secret::Kek(Zeroizing::new(kek.as_bytes().to_vec()))).expect("kek");
        let by_recovery = store.unlock(&recovery).expect("recovery");
        assert_eq!(
            by_kms.signer().public_key().key_id(),
            by_recovery.signer().public_key().key_id()
        );
        let wrong = Secret::KeyFile(Zeroizing::new(vec![8u8; 32]));
        assert!(matches!(store.unlock(&wrong), Err(SealError::WrongSecret)));
        let other = SymmetricKey::generate().expect("kek");
        let other = Secret::Kek(Zeroizing::new(other.as_bytes().to_vec()));
        assert!(matches!(store.unlock(&other), Err(SealError::WrongSecret)));
        assert!(matches!(
            store.unlock(&pass("long enough phrase")),
            Err(SealError::UnlockMethod { .. })
        ));
        // Rotation works under the KMS-wrapped key as under the others.
        let mut store = store;
        let kek_secret = Secret::Kek(Zeroizing::new(kek.as_bytes().to_vec()));
        assert_eq!(store.rotate(&kek_secret).expect("rotate"), 2);
        assert!(store.unlock(&recovery).is_ok());
        let text = fs::read_to_string(root.join("keyring.json")).expect("keyring");
        assert!(text.contains("\"method\": \"kms\"") && !text.contains(&hex(kek.as_bytes())));
    }

    #[test]
    fn init_unlock_wrong_secret_rotate_retire() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("vault");
        let ks = Keystore::init(&root, &pass("correct horse battery")).expect("init");
        assert_eq!(ks.method(), UnlockMethod::Passphrase);
        assert!(Keystore::init(&root, &pass("correct horse battery")).is_err(), "no second init");
        let ks = Keystore::open(&root).expect("open");
        ks.unlock(&pass("correct horse battery")).expect("unlock");
        assert!(matches!(ks.unlock(&pass("wrong horse battery")), Err(SealError::WrongSecret)));
        let mut ks = ks;
        let v = ks.rotate(&pass("correct horse battery")).expect("rotate");
        assert_eq!(v, 2);
        let states: Vec<KeyState> = ks.list().iter().map(|k| k.state).collect();
        assert_eq!(states, vec![KeyState::Previous, KeyState::Active]);
        assert_eq!(ks.retire_previous().expect("retire"), vec![1]);
        let text = fs::read_to_string(root.join("keyring.json")).expect("read");
        // Master v2, the signing, pseudonym and audit keys: v1's material is gone.
        assert_eq!(text.matches("\"wrapped\"").count(), 4, "retired key material is gone: {text}");
        Keystore::open(&root)
            .expect("reopen")
            .unlock(&pass("correct horse battery"))
            .expect("unlock after retire");
    }

    #[test]
    fn the_pseudonym_key_outlives_master_key_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("vault");
        let secret = pass("correct horse battery");
        let mut ks = Keystore::init(&root, &secret).expect("init");
        let before = ks.unlock(&secret).expect("unlock").pseudonym_key().expect("a key");
        ks.rotate(&secret).expect("rotate");
        ks.retire_previous().expect("retire");
        let ks = Keystore::open(&root).expect("reopen");
        let after = ks.unlock(&secret).expect("unlock").pseudonym_key().expect("a key");
        assert_eq!(*before, *after, "pseudonyms stay joinable across rotations");
        assert!(ks.unlock(&secret).expect("unlock").audit_key().is_some());

        // A keyring written before pseudonym keys existed gets one on request, once.
        let path = root.join("keyring.json");
        let mut json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
        json.as_object_mut().expect("object").remove("pseudonym_key");
        json.as_object_mut().expect("object").remove("audit_key");
        fs::write(&path, json.to_string()).expect("write");
        let mut ks = Keystore::open(&root).expect("old keyring");
        assert!(!ks.has_service_keys());
        assert!(ks.unlock(&secret).expect("unlock").pseudonym_key().is_none());
        assert!(ks.add_service_keys(&pass("wrong horse battery")).is_err());
        ks.add_service_keys(&secret).expect("add");
        let added = Keystore::open(&root)
            .expect("reopen")
            .unlock(&secret)
            .expect("unlock")
            .pseudonym_key()
            .expect("a key");
        assert_ne!(*added, *before, "a fresh random key");
    }

    #[test]
    fn short_passphrase_and_key_file_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            Keystore::init(&dir.path().join("v"), &pass("short")),
            Err(SealError::Refused(_))
        ));
        let kf = dir.path().join("key");
        let secret = Secret::create_key_file(&kf).expect("key file");
        let ks = Keystore::init(&dir.path().join("v2"), &secret).expect("init");
        ks.unlock(&Secret::from_key_file(&kf).expect("read key")).expect("unlock");
        assert!(matches!(
            ks.unlock(&pass("a passphrase of length")),
            Err(SealError::UnlockMethod { needs: "a key file", .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&kf, fs::Permissions::from_mode(0o644)).expect("chmod");
            let err = Secret::from_key_file(&kf).err().expect("refused");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        let other = dir.path().join("other");
        Secret::create_key_file(&other).expect("key file");
        assert!(matches!(
            ks.unlock(&Secret::from_key_file(&other).expect("read")),
            Err(SealError::WrongSecret)
        ));
    }

    #[test]
    fn trust_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kf = dir.path().join("key");
        let ks = Keystore::init(&dir.path().join("v"), &Secret::create_key_file(&kf).expect("kf"))
            .expect("init");
        let other = SigningKey::generate().expect("key").public_key();
        let id = ks.trust(&other.to_pem(), "partner").expect("trust");
        assert_eq!(id, other.key_id());
        assert_eq!(ks.trusted().expect("list")[0].0, "partner");
        assert!(ks.trust(&other.to_pem(), "../evil").is_err());
        assert!(ks.trust(&other.to_pem(), "partner").is_err(), "no silent replacement");
    }
}
