//! The sealed-artifact format (`.mlseal`): read and write side by side.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "MLGSEAL" + format version 0x01
//! 8       4     H: header length, big-endian, 2 <= H <= MAX_HEADER_BYTES
//! 12      H     header: JSON {"core": {...}, "signature": {...}, "recipients": [...]}
//! 12+H    ...   payload: AES-256-GCM segments (the layout of Tink's AES-GCM-HKDF
//!               streaming AEAD), each SEGMENT_SIZE bytes of ciphertext but the last
//! ```
//!
//! The `core` is immutable and signed: its exact bytes (kept as they appear in the file,
//! never re-serialised) are what the ECDSA signature covers and what the payload key is
//! derived from. `recipients` (the data key wrapped by master key version N) are not signed
//! and can be rewritten by key rotation; the key commitment in the core binds them to the
//! one data key the core was sealed with.
//!
//! Opening order: header under hard limits → signature over the core bytes, by a trusted
//! key → core parsed → data key unwrapped, commitment checked → segments decrypted one by
//! one → size and BLAKE3 digest checked → only then is the output released by the caller.

use std::io::{self, Read, Seek, SeekFrom, Write};

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::{hkdf, hmac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;

use crate::error::SealError;
use crate::keys::{KEY_LEN, PublicKey, SigningKey, SymmetricKey, b64, hex, random, unb64, unhex};

/// Magic bytes and format version.
pub const MAGIC: &[u8; 8] = b"MLGSEAL\x01";
/// Largest header accepted, in bytes.
pub const MAX_HEADER_BYTES: u32 = 1 << 20;
/// Ciphertext bytes per segment (plaintext per segment is 16 bytes less: the GCM tag).
pub const SEGMENT_SIZE: usize = 1 << 20;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Plaintext bytes per full segment.
pub const PLAIN_SEGMENT: usize = SEGMENT_SIZE - TAG_LEN;
/// Most wrapped data keys one artifact may carry.
pub const MAX_RECIPIENTS: usize = 64;
/// Length of the nonce prefix (Tink: 7 bytes, then a 32-bit counter and a last-segment byte).
pub const NONCE_PREFIX_LEN: usize = 7;
/// The payload encryption scheme.
pub const AEAD_ALG: &str = "AES256_GCM_HKDF_SHA256_1MB";
/// The signature scheme.
pub const SIG_ALG: &str = "ECDSA_P256_SHA256";

const SIGNATURE_CONTEXT: &[u8] = b"mlguard-seal-v1 signature\0";
const COMMITMENT_CONTEXT: &[u8] = b"mlguard-seal-v1 key commitment\0";
const PAYLOAD_CONTEXT: &[u8] = b"mlguard-seal-v1 payload\0";
const WRAP_CONTEXT: &[u8] = b"mlguard-seal-v1 wrap\0";

/// What an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A dataset (a CSV file, usually).
    Dataset,
    /// A trained model.
    Model,
    /// Any other file.
    File,
}

impl Kind {
    /// The name used in headers and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dataset => "dataset",
            Kind::Model => "model",
            Kind::File => "file",
        }
    }
}

/// Payload encryption parameters (in the signed core).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AeadParams {
    /// Always [`AEAD_ALG`].
    pub alg: String,
    /// Ciphertext bytes per segment, always [`SEGMENT_SIZE`].
    pub segment_size: u64,
    /// HKDF salt (hex, 32 bytes).
    pub salt: String,
    /// Nonce prefix (hex, 7 bytes).
    pub nonce_prefix: String,
}

/// The immutable, signed part of the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Core {
    /// Format version of the core, always 1.
    pub format: u32,
    /// Random artifact id (hex, 16 bytes).
    pub id: String,
    /// What the artifact holds.
    pub kind: Kind,
    /// When it was sealed (RFC 3339, UTC).
    pub created: String,
    /// Plaintext size in bytes.
    pub size: u64,
    /// BLAKE3 digest of the plaintext (hex).
    pub blake3: String,
    /// Payload encryption parameters.
    pub aead: AeadParams,
    /// Key commitment: HMAC-SHA256 keyed by the data key (hex).
    pub commitment: String,
    /// Free metadata (name, schema, metrics, ...). Signed, not encrypted.
    pub meta: serde_json::Map<String, serde_json::Value>,
}

/// The signature over the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureInfo {
    /// Always [`SIG_ALG`].
    pub alg: String,
    /// Hex SHA-256 of the signer's SubjectPublicKeyInfo.
    pub key_id: String,
    /// The signer's public key (base64 SubjectPublicKeyInfo DER), for verification with
    /// `--allow-untrusted-signer` and for display; trusted keys come from the vault.
    pub public_key: String,
    /// ASN.1 DER signature (base64).
    pub value: String,
}

/// The data key wrapped by one master key version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Master key version.
    pub key_version: u32,
    /// AES-GCM nonce (hex, 12 bytes).
    pub nonce: String,
    /// Wrapped data key and tag (hex, 48 bytes).
    pub wrapped: String,
}

/// A parsed header.
#[derive(Debug, Clone)]
pub struct Header {
    /// The exact signed bytes of the core.
    core_bytes: Vec<u8>,
    /// The signature.
    pub signature: SignatureInfo,
    /// The wrapped data keys.
    pub recipients: Vec<Recipient>,
    /// Bytes before the payload (magic, length and header).
    pub payload_offset: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader<'a> {
    #[serde(borrow)]
    core: &'a RawValue,
    signature: SignatureInfo,
    recipients: Vec<Recipient>,
}

impl Header {
    /// Reads the magic, length and header from the start of an artifact, under the size
    /// limits; nothing is verified yet.
    pub fn read<R: Read>(r: &mut R) -> Result<Header, SealError> {
        let mut fixed = [0u8; 12];
        read_exact_or(r, &mut fixed, |got| {
            SealError::malformed(got, "the file is shorter than the 12-byte preamble")
        })?;
        if fixed[..7] != MAGIC[..7] {
            return Err(SealError::malformed(0, "no MLGSEAL magic: this is not a sealed artifact"));
        }
        if fixed[7] != MAGIC[7] {
            return Err(SealError::malformed(
                7,
                format!(
                    "unsupported format version {} (this mlguard reads version {})",
                    fixed[7], MAGIC[7]
                ),
            ));
        }
        let len = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
        if len > MAX_HEADER_BYTES {
            return Err(SealError::Limit {
                what: "the header length",
                got: u64::from(len),
                limit: u64::from(MAX_HEADER_BYTES),
            });
        }
        let mut body = vec![0u8; len as usize];
        read_exact_or(r, &mut body, |got| {
            SealError::malformed(12 + got, "the file ends inside the header")
        })?;
        let raw: RawHeader<'_> = serde_json::from_slice(&body).map_err(|e| {
            SealError::malformed(12 + json_offset(&body, &e), format!("header is not valid: {e}"))
        })?;
        if raw.recipients.len() > MAX_RECIPIENTS {
            return Err(SealError::Limit {
                what: "the number of recipients",
                got: raw.recipients.len() as u64,
                limit: MAX_RECIPIENTS as u64,
            });
        }
        Ok(Header {
            core_bytes: raw.core.get().as_bytes().to_vec(),
            signature: raw.signature,
            recipients: raw.recipients,
            payload_offset: 12 + u64::from(len),
        })
    }

    /// Writes magic, length and header.
    fn write<W: Write>(&self, w: &mut W) -> Result<u64, SealError> {
        let body = self.to_json_bytes()?;
        let len = u32::try_from(body.len()).ok().filter(|l| *l <= MAX_HEADER_BYTES).ok_or(
            SealError::Limit {
                what: "the header length",
                got: body.len() as u64,
                limit: u64::from(MAX_HEADER_BYTES),
            },
        )?;
        let mut all = Vec::with_capacity(12 + body.len());
        all.extend_from_slice(MAGIC);
        all.extend_from_slice(&len.to_be_bytes());
        all.extend_from_slice(&body);
        w.write_all(&all).map_err(SealError::io("cannot write the artifact"))?;
        Ok(12 + u64::from(len))
    }

    fn to_json_bytes(&self) -> Result<Vec<u8>, SealError> {
        let core = std::str::from_utf8(&self.core_bytes)
            .map_err(|_| SealError::malformed(12, "core is not UTF-8"))?;
        let sig =
            serde_json::to_string(&self.signature).map_err(|e| SealError::Key(e.to_string()))?;
        let rec =
            serde_json::to_string(&self.recipients).map_err(|e| SealError::Key(e.to_string()))?;
        Ok(format!("{{\"core\":{core},\"signature\":{sig},\"recipients\":{rec}}}").into_bytes())
    }

    /// The exact signed bytes of the core.
    pub fn core_bytes(&self) -> &[u8] {
        &self.core_bytes
    }

    /// The core, parsed but *not verified*: for display only (`inspect`).
    pub fn unverified_core(&self) -> Result<Core, SealError> {
        parse_core(&self.core_bytes)
    }
}

/// Where a JSON error is, as a byte offset.
fn json_offset(body: &[u8], e: &serde_json::Error) -> u64 {
    let (line, col) = (e.line(), e.column());
    let mut offset = 0usize;
    for (i, l) in body.split(|&b| b == b'\n').enumerate() {
        if i + 1 == line {
            return (offset + col.saturating_sub(1)) as u64;
        }
        offset += l.len() + 1;
    }
    0
}

fn read_exact_or<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    short: impl FnOnce(u64) -> SealError,
) -> Result<(), SealError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Err(short(got as u64)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(SealError::Io {
                    context: "cannot read the artifact".into(),
                    source: e,
                });
            }
        }
    }
    Ok(())
}

fn parse_core(bytes: &[u8]) -> Result<Core, SealError> {
    let core: Core = serde_json::from_slice(bytes)
        .map_err(|e| SealError::malformed(12, format!("core is not valid: {e}")))?;
    let bad = |what: &str| Err(SealError::malformed(12, format!("core: {what}")));
    if core.format != 1 {
        return bad("unknown core format");
    }
    if core.aead.alg != AEAD_ALG || core.aead.segment_size != SEGMENT_SIZE as u64 {
        return bad("unsupported payload encryption");
    }
    if unhex::<16>(&core.id).is_none()
        || unhex::<32>(&core.blake3).is_none()
        || unhex::<32>(&core.commitment).is_none()
        || unhex::<32>(&core.aead.salt).is_none()
        || unhex::<NONCE_PREFIX_LEN>(&core.aead.nonce_prefix).is_none()
    {
        return bad("a hex field has the wrong length");
    }
    if segments(core.size) > u64::from(u32::MAX) {
        return bad("the payload is larger than 2^32 segments");
    }
    Ok(core)
}

/// The current time, RFC 3339 UTC, whole seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Number of segments for `size` plaintext bytes (at least one, possibly empty).
fn segments(size: u64) -> u64 {
    size.div_ceil(PLAIN_SEGMENT as u64).max(1)
}

/// The keys an operation needs.
pub struct SealKeys {
    masters: Vec<(u32, SymmetricKey)>,
    active: u32,
    signer: SigningKey,
    trusted: Vec<PublicKey>,
    pseudonym: Option<SymmetricKey>,
    audit: Option<SymmetricKey>,
}

impl SealKeys {
    /// Master keys by version (retired ones left out), the version new artifacts use, the
    /// signing key, and the public keys whose signatures are trusted (the signer's own key
    /// is always trusted).
    pub fn new(
        masters: Vec<(u32, SymmetricKey)>,
        active: u32,
        signer: SigningKey,
        trusted: Vec<PublicKey>,
    ) -> SealKeys {
        SealKeys { masters, active, signer, trusted, pseudonym: None, audit: None }
    }

    /// Sets the key of the keyed pseudonyms of personal data.
    pub fn set_pseudonym_key(&mut self, key: SymmetricKey) {
        self.pseudonym = Some(key);
    }

    /// Sets the seed of the audit log's keys.
    pub fn set_audit_key(&mut self, key: SymmetricKey) {
        self.audit = Some(key);
    }

    /// A copy of the audit key seed's bytes (zeroised when dropped), if the vault has one.
    pub fn audit_key(&self) -> Option<zeroize::Zeroizing<[u8; 32]>> {
        self.audit.as_ref().map(|k| zeroize::Zeroizing::new(*k.as_bytes()))
    }

    /// A copy of the pseudonym key's bytes (zeroised when dropped), if the vault has one.
    pub fn pseudonym_key(&self) -> Option<zeroize::Zeroizing<[u8; 32]>> {
        self.pseudonym.as_ref().map(|k| zeroize::Zeroizing::new(*k.as_bytes()))
    }

    fn master(&self, version: u32) -> Option<&SymmetricKey> {
        self.masters.iter().find(|(v, _)| *v == version).map(|(_, k)| k)
    }

    fn trusted_key(&self, key_id: &str) -> Option<PublicKey> {
        let own = self.signer.public_key();
        if own.key_id() == key_id {
            return Some(own);
        }
        self.trusted.iter().find(|k| k.key_id() == key_id).cloned()
    }

    /// Encrypts a small secret (a TOTP seed) under the active master key, bound to
    /// `context` (the same context must be given to decrypt it):
    /// `v<version>:<nonce hex>:<ciphertext and tag, base64>`.
    pub fn encrypt_secret(&self, context: &str, secret: &[u8]) -> Result<String, SealError> {
        let master = self.master(self.active).ok_or(SealError::Crypto)?;
        let nonce: [u8; 12] = random()?;
        let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, master.as_bytes())?);
        let mut buf = zeroize::Zeroizing::new(secret.to_vec());
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(secret_aad(context, self.active)),
            &mut *buf,
        )?;
        Ok(format!("v{}:{}:{}", self.active, hex(&nonce), b64(&buf)))
    }

    /// Decrypts what [`SealKeys::encrypt_secret`] produced (under any master key version
    /// not retired). Every failure is [`SealError::Crypto`].
    pub fn decrypt_secret(
        &self,
        context: &str,
        sealed: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
        let mut parts = sealed.splitn(3, ':');
        let version = parts
            .next()
            .and_then(|v| v.strip_prefix('v'))
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or(SealError::Crypto)?;
        let nonce = parts.next().and_then(unhex::<12>).ok_or(SealError::Crypto)?;
        let mut buf =
            zeroize::Zeroizing::new(parts.next().and_then(unb64).ok_or(SealError::Crypto)?);
        let master = self.master(version).ok_or(SealError::Crypto)?;
        let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, master.as_bytes())?);
        let n = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(secret_aad(context, version)),
                &mut buf,
            )
            .map_err(|_| SealError::Crypto)?
            .len();
        buf.truncate(n);
        Ok(buf)
    }

    /// The signing key.
    pub fn signer(&self) -> &SigningKey {
        &self.signer
    }

    /// The signer's public key.
    pub fn signer_public(&self) -> PublicKey {
        self.signer.public_key()
    }
}

/// Whether a signature by a key the vault does not trust may be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerPolicy {
    /// Only keys the vault trusts (the default).
    TrustedOnly,
    /// Any key that produced a valid signature (the caller must warn loudly).
    AllowUntrusted,
}

/// What a successful open or verify established.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The verified core.
    pub core: Core,
    /// Key id of the signer.
    pub signer: String,
    /// Whether the signer is trusted by the vault.
    pub signer_trusted: bool,
}

fn commitment(data_key: &SymmetricKey, id: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, data_key.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(COMMITMENT_CONTEXT);
    ctx.update(id);
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn payload_key(
    data_key: &SymmetricKey,
    salt: &[u8; 32],
    core_bytes: &[u8],
) -> Result<LessSafeKey, SealError> {
    let core_digest = blake3::hash(core_bytes);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(data_key.as_bytes());
    let info = [PAYLOAD_CONTEXT, core_digest.as_bytes().as_slice()];
    let okm = prk.expand(&info, &aead::AES_256_GCM)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

fn segment_nonce(prefix: &[u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    n[NONCE_PREFIX_LEN..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

fn secret_aad(context: &str, version: u32) -> Vec<u8> {
    let mut aad = b"mlguard secret v1\0".to_vec();
    aad.extend_from_slice(context.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn wrap_aad(id: &[u8], version: u32) -> Vec<u8> {
    let mut aad = WRAP_CONTEXT.to_vec();
    aad.extend_from_slice(id);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn wrap(
    master: &SymmetricKey,
    version: u32,
    id: &[u8],
    data_key: &SymmetricKey,
) -> Result<Recipient, SealError> {
    let nonce: [u8; 12] = random()?;
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, master.as_bytes())?);
    let mut buf = data_key.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(wrap_aad(id, version)),
        &mut buf,
    )?;
    let r = Recipient { key_version: version, nonce: hex(&nonce), wrapped: hex(&buf) };
    zeroize::Zeroize::zeroize(&mut buf);
    Ok(r)
}

fn unwrap(master: &SymmetricKey, r: &Recipient, id: &[u8]) -> Result<SymmetricKey, SealError> {
    let nonce = unhex::<12>(&r.nonce).ok_or(SealError::Crypto)?;
    let mut buf = unhex::<{ KEY_LEN + TAG_LEN }>(&r.wrapped).ok_or(SealError::Crypto)?.to_vec();
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, master.as_bytes())?);
    let plain = key.open_in_place(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(wrap_aad(id, r.key_version)),
        &mut buf,
    );
    let out = plain.map_err(|_| SealError::Crypto).and_then(|p| SymmetricKey::from_slice(p));
    zeroize::Zeroize::zeroize(&mut buf);
    out
}

/// Options for sealing.
#[derive(Debug, Clone)]
pub struct SealOptions {
    /// What the artifact holds.
    pub kind: Kind,
    /// Free metadata, signed with the core.
    pub meta: serde_json::Map<String, serde_json::Value>,
}

/// Seals `input` into `output`. The input is read twice (first for its size and BLAKE3
/// digest, which the signed core must hold before the first segment is encrypted), so it
/// must be seekable; memory use is one segment whatever the size.
pub fn seal<R: Read + Seek, W: Write>(
    input: &mut R,
    output: &mut W,
    keys: &SealKeys,
    opts: &SealOptions,
) -> Result<Core, SealError> {
    seal_as(input, output, keys, opts, random()?)
}

/// As [`seal`], with the artifact's id chosen by the caller (fresh and random: a store
/// that names objects by id learns the name before the first byte is written).
pub fn seal_as<R: Read + Seek, W: Write>(
    input: &mut R,
    output: &mut W,
    keys: &SealKeys,
    opts: &SealOptions,
    id: [u8; 16],
) -> Result<Core, SealError> {
    let read_err = SealError::io("cannot read the input");
    let mut buf = vec![0u8; SEGMENT_SIZE];
    // Pass 1: size and digest.
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = read_full(input, &mut buf[..PLAIN_SEGMENT])
            .map_err(SealError::io("cannot read the input"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    input.seek(SeekFrom::Start(0)).map_err(read_err)?;
    let digest = Digest { size, blake3: *hasher.finalize().as_bytes() };
    seal_digested(input, output, keys, opts, id, &digest, false)
}

/// The size and BLAKE3 digest of a plaintext, taken by whoever wrote it (see
/// [`seal_known`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Bytes.
    pub size: u64,
    /// BLAKE3 of the bytes.
    pub blake3: [u8; 32],
}

/// As [`seal_as`] for an input whose size and digest are already known (taken while it
/// was written): read once, not twice. The digest is taken again while the input is
/// encrypted, and an input that does not match it is refused (the output is then not an
/// artifact: the caller discards it).
pub fn seal_known<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    keys: &SealKeys,
    opts: &SealOptions,
    id: [u8; 16],
    known: &Digest,
) -> Result<Core, SealError> {
    seal_digested(input, output, keys, opts, id, known, true)
}

/// Seals `input`, whose digest is `digest`, read from its current position; with `check`,
/// refuses an input whose digest differs.
fn seal_digested<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    keys: &SealKeys,
    opts: &SealOptions,
    id: [u8; 16],
    digest: &Digest,
    check: bool,
) -> Result<Core, SealError> {
    let mut buf = vec![0u8; SEGMENT_SIZE];
    let size = digest.size;
    let mut hasher = check.then(blake3::Hasher::new);
    let data_key = SymmetricKey::generate()?;
    let salt: [u8; 32] = random()?;
    let prefix: [u8; NONCE_PREFIX_LEN] = random()?;
    let created = now_rfc3339();
    let core = Core {
        format: 1,
        id: hex(&id),
        kind: opts.kind,
        created,
        size,
        blake3: hex(&digest.blake3),
        aead: AeadParams {
            alg: AEAD_ALG.into(),
            segment_size: SEGMENT_SIZE as u64,
            salt: hex(&salt),
            nonce_prefix: hex(&prefix),
        },
        commitment: hex(&commitment(&data_key, &id)),
        meta: opts.meta.clone(),
    };
    let core_bytes = serde_json::to_vec(&core).map_err(|e| SealError::Key(e.to_string()))?;
    let mut signed = SIGNATURE_CONTEXT.to_vec();
    signed.extend_from_slice(&core_bytes);
    let public = keys.signer.public_key();
    let signature = SignatureInfo {
        alg: SIG_ALG.into(),
        key_id: public.key_id(),
        public_key: b64(public.spki_der()),
        value: b64(&keys.signer.sign(&signed)?),
    };
    let master =
        keys.master(keys.active).ok_or(SealError::NoKey { versions: vec![keys.active] })?;
    let header = Header {
        core_bytes,
        signature,
        recipients: vec![wrap(master, keys.active, &id, &data_key)?],
        payload_offset: 0,
    };
    header.write(output)?;

    // Pass 2: encrypt, segment by segment, in one reused buffer.
    let key = payload_key(&data_key, &salt, &header.core_bytes)?;
    let count = segments(size);
    let mut remaining = size;
    for i in 0..count {
        let len = remaining.min(PLAIN_SEGMENT as u64) as usize;
        let n =
            read_full(input, &mut buf[..len]).map_err(SealError::io("cannot read the input"))?;
        if n != len {
            return Err(SealError::Refused("the input changed while it was being sealed".into()));
        }
        remaining -= len as u64;
        if let Some(h) = &mut hasher {
            h.update(&buf[..len]);
        }
        let last = i + 1 == count;
        let tag = key.seal_in_place_separate_tag(
            segment_nonce(&prefix, i as u32, last),
            Aad::empty(),
            &mut buf[..len],
        )?;
        buf[len..len + TAG_LEN].copy_from_slice(tag.as_ref());
        output
            .write_all(&buf[..len + TAG_LEN])
            .map_err(SealError::io("cannot write the artifact"))?;
    }
    let mut probe = [0u8; 1];
    if read_full(input, &mut probe).map_err(SealError::io("cannot read the input"))? != 0
        || hasher.is_some_and(|h| h.finalize().as_bytes() != &digest.blake3)
    {
        return Err(SealError::Refused("the input changed while it was being sealed".into()));
    }
    output.flush().map_err(SealError::io("cannot write the artifact"))?;
    Ok(core)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Checks the signature and unwraps the data key: everything but the payload.
fn authenticate(
    header: &Header,
    keys: &SealKeys,
    policy: SignerPolicy,
) -> Result<(Core, SymmetricKey, bool), SealError> {
    let sig = &header.signature;
    if sig.alg != SIG_ALG {
        return Err(SealError::Crypto);
    }
    // The embedded public key must be the one the key id names, trusted or not: no byte of
    // the header may change unnoticed.
    let der = unb64(&sig.public_key).ok_or(SealError::Crypto)?;
    let embedded = PublicKey::from_spki_der(&der).map_err(|_| SealError::Crypto)?;
    if embedded.key_id() != sig.key_id {
        return Err(SealError::Crypto);
    }
    let (public, trusted) = match keys.trusted_key(&sig.key_id) {
        Some(k) => (k, true),
        None if policy == SignerPolicy::AllowUntrusted => (embedded, false),
        None => return Err(SealError::UntrustedSigner { key_id: sig.key_id.clone() }),
    };
    let mut signed = SIGNATURE_CONTEXT.to_vec();
    signed.extend_from_slice(&header.core_bytes);
    let value = unb64(&sig.value).ok_or(SealError::Crypto)?;
    public.verify(&signed, &value)?;
    // Signed: now the core may be interpreted.
    let core = parse_core(&header.core_bytes)?;
    let id = unhex::<16>(&core.id).ok_or(SealError::Crypto)?;
    let mut versions = Vec::new();
    for r in &header.recipients {
        versions.push(r.key_version);
        let Some(master) = keys.master(r.key_version) else { continue };
        let data_key = unwrap(master, r, &id)?;
        let expected = unhex::<32>(&core.commitment).ok_or(SealError::Crypto)?;
        if !bool::from(commitment(&data_key, &id).ct_eq(&expected)) {
            return Err(SealError::Crypto);
        }
        return Ok((core, data_key, trusted));
    }
    Err(SealError::NoKey { versions })
}

/// Opens a sealed artifact: verifies it completely while streaming the plaintext to
/// `output`. The plaintext written is only good if this returns `Ok`: callers write to a
/// temporary place and release it afterwards (as `mlguard open` does).
pub fn open<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    keys: &SealKeys,
    policy: SignerPolicy,
) -> Result<Verified, SealError> {
    let header = Header::read(input)?;
    let (core, data_key, signer_trusted) = authenticate(&header, keys, policy)?;
    let salt = unhex::<32>(&core.aead.salt).ok_or(SealError::Crypto)?;
    let prefix = unhex::<NONCE_PREFIX_LEN>(&core.aead.nonce_prefix).ok_or(SealError::Crypto)?;
    let key = payload_key(&data_key, &salt, &header.core_bytes)?;
    drop(data_key);
    let mut buf = vec![0u8; SEGMENT_SIZE];
    let mut hasher = blake3::Hasher::new();
    let count = segments(core.size);
    let mut remaining = core.size;
    for i in 0..count {
        let len = remaining.min(PLAIN_SEGMENT as u64) as usize;
        let want = len + TAG_LEN;
        let n = read_full(input, &mut buf[..want])
            .map_err(SealError::io("cannot read the artifact"))?;
        if n != want {
            return Err(SealError::Crypto); // truncated
        }
        let last = i + 1 == count;
        let plain = key.open_in_place(
            segment_nonce(&prefix, i as u32, last),
            Aad::empty(),
            &mut buf[..want],
        )?;
        hasher.update(plain);
        output.write_all(plain).map_err(SealError::io("cannot write the output"))?;
        remaining -= len as u64;
    }
    let mut probe = [0u8; 1];
    if read_full(input, &mut probe).map_err(SealError::io("cannot read the artifact"))? != 0 {
        return Err(SealError::Crypto); // extended
    }
    let expected = unhex::<32>(&core.blake3).ok_or(SealError::Crypto)?;
    if !bool::from(hasher.finalize().as_bytes().ct_eq(&expected)) {
        return Err(SealError::Crypto);
    }
    output.flush().map_err(SealError::io("cannot write the output"))?;
    Ok(Verified { core, signer: header.signature.key_id.clone(), signer_trusted })
}

/// Verifies a sealed artifact completely (signature, key, every segment, size, digest)
/// without writing any plaintext.
pub fn verify<R: Read>(
    input: &mut R,
    keys: &SealKeys,
    policy: SignerPolicy,
) -> Result<Verified, SealError> {
    open(input, &mut io::sink(), keys, policy)
}

/// Rewrites an artifact's recipients so its data key is wrapped only by the active master
/// key, copying the signed core, the signature and the payload byte for byte.
pub fn rewrap<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    keys: &SealKeys,
) -> Result<Core, SealError> {
    let mut header = Header::read(input)?;
    let (core, data_key, _) = authenticate(&header, keys, SignerPolicy::AllowUntrusted)?;
    let id = unhex::<16>(&core.id).ok_or(SealError::Crypto)?;
    let master =
        keys.master(keys.active).ok_or(SealError::NoKey { versions: vec![keys.active] })?;
    header.recipients = vec![wrap(master, keys.active, &id, &data_key)?];
    header.write(output)?;
    io::copy(input, output).map_err(SealError::io("cannot copy the payload"))?;
    output.flush().map_err(SealError::io("cannot write the artifact"))?;
    Ok(core)
}
