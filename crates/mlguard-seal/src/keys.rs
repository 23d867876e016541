//! Key material: symmetric keys, the ECDSA P-256 signing key and public keys.
//!
//! Secrets live in zeroizing buffers, are never `Debug`, and never appear in errors.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::SealError;

/// Length of every symmetric key (AES-256).
pub const KEY_LEN: usize = 32;

/// DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point
/// (RFC 5480: id-ecPublicKey, prime256v1, BIT STRING of 66 bytes).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A 256-bit symmetric key (a master key, a data key, a key-encryption key).
///
/// Zeroised when dropped, and deliberately not `Debug`, so it cannot reach a log:
///
/// ```compile_fail
/// let key = mlguard_seal::SymmetricKey::generate().unwrap();
/// println!("{key:?}");
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; KEY_LEN]);

impl SymmetricKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate() -> Result<SymmetricKey, SealError> {
        Ok(SymmetricKey(random()?))
    }

    /// A key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<SymmetricKey, SealError> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| SealError::Crypto)?;
        Ok(SymmetricKey(arr))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// Fills an array from the operating system's CSPRNG (for keys, salts, split seeds).
pub fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    SystemRandom::new().fill(&mut out)?;
    Ok(out)
}

/// The ECDSA P-256 key that signs artifacts. Its PKCS#8 form is zeroised when dropped;
/// it is not `Debug`:
///
/// ```compile_fail
/// let key = mlguard_seal::SigningKey::generate().unwrap();
/// println!("{key:?}");
/// ```
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl SigningKey {
    /// A fresh key.
    pub fn generate() -> Result<SigningKey, SealError> {
        let doc = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &SystemRandom::new(),
        )?;
        SigningKey::from_pkcs8(doc.as_ref())
    }

    /// A key from its PKCS#8 DER form.
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, SealError> {
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|_| SealError::Key("not an ECDSA P-256 private key in PKCS#8 form".into()))?;
        Ok(SigningKey { pair, pkcs8: Zeroizing::new(der.to_vec()) })
    }

    pub(crate) fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(self.pair.public_key().as_ref());
        PublicKey { spki }
    }

    /// An ASN.1 DER ECDSA signature over SHA-256 of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(self.pair.sign(&SystemRandom::new(), msg)?.as_ref().to_vec())
    }
}

/// An ECDSA P-256 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: Vec<u8>,
}

impl PublicKey {
    /// A key from its SubjectPublicKeyInfo DER form (P-256, uncompressed point).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, SealError> {
        if der.len() != P256_SPKI_PREFIX.len() + 65
            || !der.starts_with(&P256_SPKI_PREFIX)
            || der[26] != 0x04
        {
            return Err(SealError::Key(
                "not an ECDSA P-256 public key (SubjectPublicKeyInfo, uncompressed point)".into(),
            ));
        }
        // A point that is not on the curve fails at verification, as any bad signature.
        Ok(PublicKey { spki: der.to_vec() })
    }

    /// A key from PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<PublicKey, SealError> {
        let der = pem_decode(pem, "PUBLIC KEY")?;
        PublicKey::from_spki_der(&der)
    }

    /// The SubjectPublicKeyInfo DER bytes.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    fn point(&self) -> &[u8] {
        &self.spki[P256_SPKI_PREFIX.len()..]
    }

    /// PEM text, 64 characters a line, as OpenSSL and Python's `cryptography` write it.
    pub fn to_pem(&self) -> String {
        pem_encode(&self.spki, "PUBLIC KEY")
    }

    /// The key id: hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub fn key_id(&self) -> String {
        hex(digest::digest(&digest::SHA256, &self.spki).as_ref())
    }

    /// Checks an ASN.1 DER ECDSA P-256 / SHA-256 signature; any failure is
    /// [`SealError::Crypto`].
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), SealError> {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, self.point())
            .verify(msg, sig)?;
        Ok(())
    }
}

/// PEM-encodes DER bytes.
pub(crate) fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Decodes the first PEM block with `label`.
pub(crate) fn pem_decode(pem: &str, label: &str) -> Result<Vec<u8>, SealError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start =
        pem.find(&begin).ok_or_else(|| SealError::Key(format!("no `{begin}` block found")))?;
    let body_start = start + begin.len();
    let stop = pem[body_start..]
        .find(&end)
        .ok_or_else(|| SealError::Key(format!("no `{end}` line found")))?;
    let body: String =
        pem[body_start..body_start + stop].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(body).map_err(|_| SealError::Key(format!("the {label} block is not valid base64")))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Parses lower-case hex of exactly `N` bytes. Upper case is refused so every value has
/// one spelling: a flipped case bit in a file must not decode to the same bytes.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let val = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = val(b[2 * i])? << 4 | val(b[2 * i + 1])?;
    }
    Some(out)
}

/// Base64 (standard alphabet, padded).
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes standard base64.
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_pem_round_trip() {
        let k = SigningKey::generate().expect("key");
        let public = k.public_key();
        let sig = k.sign(b"hello").expect("sign");
        public.verify(b"hello", &sig).expect("good signature");
        assert!(matches!(public.verify(b"hellp", &sig), Err(SealError::Crypto)));
        let pem = public.to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(PublicKey::from_pem(&pem).expect("pem"), public);
        assert_eq!(public.key_id().len(), 64);
        let again = SigningKey::from_pkcs8(k.pkcs8()).expect("pkcs8");
        assert_eq!(again.public_key(), public);
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex::<3>("000fff"), Some([0, 15, 255]));
        assert_eq!(unhex::<3>("000ff"), None);
        assert_eq!(unhex::<1>("zz"), None);
        assert_eq!(unhex::<1>("FF"), None, "one spelling only");
    }
}
