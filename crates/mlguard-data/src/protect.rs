//! Protecting personal data before use. This module holds the keyed pseudonyms:
//! deterministic per key (the same person gets the same pseudonym in every dataset sealed
//! with the vault's key, so joins still work), typed (`EMAIL_eaa8d7b66fd3e3a8`), and
//! irreversible without the key.
//!
//! ```
//! use mlguard_data::pii::Kind;
//! use mlguard_data::protect::{PseudonymKey, pseudonym};
//!
//! let key = PseudonymKey::from_bytes([7; 32]);
//! let a = pseudonym(&key, Kind::Email, " Jane.Doe@Example.org ");
//! assert_eq!(a, pseudonym(&key, Kind::Email, "jane.doe@example.org"));
//! assert!(a.starts_with("EMAIL_") && a.len() == "EMAIL_".len() + 16);
//! ```

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

use crate::pii::Kind;

/// Hex digits of the HMAC kept in a pseudonym (64 bits: collisions are negligible below
/// billions of distinct values, and short enough to read).
pub const PSEUDONYM_HEX: usize = 16;

/// The key of the pseudonyms: 32 bytes, wiped from memory when dropped, never printed.
pub struct PseudonymKey(Zeroizing<[u8; 32]>);

impl PseudonymKey {
    /// A key from its bytes (derive it from the vault's master key; never a constant).
    pub fn from_bytes(bytes: [u8; 32]) -> PseudonymKey {
        PseudonymKey(Zeroizing::new(bytes))
    }
}

/// The pseudonym of a value of a kind: `KIND_` and the first [`PSEUDONYM_HEX`] hex digits
/// of HMAC-SHA256(key, KIND || 0x00 || normalised value). Values are normalised first so
/// that one person's value written two ways gets one pseudonym: e-mail addresses and names
/// lowercased, phone numbers to `+` and digits, card, SSN and IBAN numbers without
/// separators, IP addresses in canonical form.
pub fn pseudonym(key: &PseudonymKey, kind: Kind, value: &str) -> String {
    let hkey = hmac::Key::new(hmac::HMAC_SHA256, &key.0[..]);
    let normal = normalise(kind, value);
    let mut ctx = hmac::Context::with_key(&hkey);
    ctx.update(kind.as_str().as_bytes());
    ctx.update(&[0]);
    ctx.update(normal.as_bytes());
    let tag = ctx.sign();
    let mut out = String::with_capacity(kind.as_str().len() + 1 + PSEUDONYM_HEX);
    out.push_str(kind.as_str());
    out.push('_');
    for b in &tag.as_ref()[..PSEUDONYM_HEX / 2] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The form of a value that is hashed: equal for the spellings of one value.
pub fn normalise(kind: Kind, value: &str) -> String {
    let v = value.trim();
    match kind {
        Kind::Email | Kind::Person | Kind::StreetAddress => {
            v.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
        }
        Kind::Phone => {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            if v.starts_with('+') { format!("+{digits}") } else { digits }
        }
        Kind::UsSsn | Kind::CreditCard | Kind::Iban | Kind::PostalCode => {
            v.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
        }
        Kind::IpAddress => {
            v.parse::<std::net::IpAddr>().map_or_else(|_| v.to_owned(), |ip| ip.to_string())
        }
        Kind::DateOfBirth => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed independently with Python's `hmac` (key = bytes 0..32).
    #[test]
    fn pseudonym_test_vectors() {
        let key = PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8));
        let vectors = [
            (Kind::Email, "Jane.Doe@example.org", "EMAIL_eaa8d7b66fd3e3a8"),
            (Kind::Phone, "+44 20 7946 0958", "PHONE_cb8f8b47f20b04fa"),
            (Kind::UsSsn, "536-22-1234", "US_SSN_6562335f9f298f6a"),
            (Kind::CreditCard, "4111 1111 1111 1111", "CREDIT_CARD_cc04a1656a212e35"),
            (Kind::Person, "Jane  SMITH", "PERSON_be7ee7db841f5ac5"),
            (Kind::IpAddress, "192.168.1.20", "IP_ADDRESS_a43d06781ed0aa81"),
        ];
        for (kind, value, want) in vectors {
            assert_eq!(pseudonym(&key, kind, value), want, "{value}");
        }
    }

    #[test]
    fn another_key_or_kind_gives_another_pseudonym() {
        let a = PseudonymKey::from_bytes([1; 32]);
        let b = PseudonymKey::from_bytes([2; 32]);
        assert_ne!(pseudonym(&a, Kind::Email, "x@y.org"), pseudonym(&b, Kind::Email, "x@y.org"));
        // The kind is hashed too: the same text as another kind is unlinkable.
        let hex = |p: String| p.rsplit('_').next().map(str::to_owned);
        assert_ne!(
            hex(pseudonym(&a, Kind::Person, "12345")),
            hex(pseudonym(&a, Kind::PostalCode, "12345"))
        );
        assert_eq!(
            pseudonym(&a, Kind::IpAddress, "2001:DB8::1"),
            pseudonym(&a, Kind::IpAddress, "2001:db8:0::1")
        );
    }
}
