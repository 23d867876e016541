//! C2SP signed notes (<https://c2sp.org/signed-note>), note verifier keys, and the
//! checkpoints of transparency logs (<https://c2sp.org/tlog-checkpoint>), parsed strictly:
//! anything that is not exactly a well-formed note — a junk line after the signatures, a
//! control character, a malformed signature line, a size with a leading zero — is an
//! error, never ignored.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{self, UnparsedPublicKey};

use mlguard_seal::{hex, unb64};

use crate::merkle::Hash;

/// Largest note accepted.
pub const MAX_NOTE_BYTES: usize = 64 << 10;
/// Most signatures accepted on one note (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// The signature type of Ed25519 notes.
pub const ED25519: u8 = 0x01;

/// One signature line: the key's name and id, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The key name.
    pub name: String,
    /// The key id (first 4 bytes of the decoded signature).
    pub id: [u8; 4],
    /// The signature itself.
    pub sig: Vec<u8>,
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note<'a> {
    /// The signed text, with its final newline.
    pub text: &'a str,
    /// The signature lines, in order.
    pub signatures: Vec<Signature>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Parses a signed note strictly.
pub fn parse(note: &str) -> Result<Note<'_>, String> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(format!("the note is larger than {MAX_NOTE_BYTES} bytes"));
    }
    if let Some(c) = note.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(format!("the note holds a control character (U+{:04X})", c as u32));
    }
    if !note.ends_with('\n') {
        return Err("the note does not end with a newline".into());
    }
    // The text is separated from the signatures by the last empty line.
    let split = note.rfind("\n\n").ok_or("no blank line before the signatures")?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() {
        return Err("no signature lines".into());
    }
    let mut signatures = Vec::new();
    for (n, line) in sigs.strip_suffix('\n').unwrap_or(sigs).split('\n').enumerate() {
        let bad = |why: &str| format!("signature line {}: {why}", n + 1);
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("does not start with an em dash and a space"))?;
        let (name, b64) =
            rest.split_once(' ').ok_or_else(|| bad("no space between key name and signature"))?;
        if !valid_name(name) {
            return Err(bad("invalid key name"));
        }
        let blob = unb64(b64).ok_or_else(|| bad("the signature is not base64"))?;
        if blob.len() < 5 {
            return Err(bad("the signature is too short"));
        }
        signatures.push(Signature {
            name: name.to_owned(),
            id: [blob[0], blob[1], blob[2], blob[3]],
            sig: blob[4..].to_vec(),
        });
        if signatures.len() > MAX_SIGNATURES {
            return Err(format!("more than {MAX_SIGNATURES} signatures"));
        }
    }
    Ok(Note { text, signatures })
}

/// An Ed25519 note verifier key (`name+hex(id)+base64(0x01 ‖ public key)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The key name.
    pub name: String,
    /// The key id.
    pub id: [u8; 4],
    /// The Ed25519 public key.
    pub key: [u8; 32],
}

/// The C2SP key id of an Ed25519 key: SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4].
pub fn key_id(name: &str, key: &[u8]) -> [u8; 4] {
    typed_key_id(name, ED25519, key)
}

/// The C2SP key id of a key of signature type `kind`: SHA-256(name ‖ "\n" ‖ kind ‖ key)[:4].
pub fn typed_key_id(name: &str, kind: u8, key: &[u8]) -> [u8; 4] {
    let mut data = name.as_bytes().to_vec();
    data.push(b'\n');
    data.push(kind);
    data.extend_from_slice(key);
    let d = digest(&SHA256, &data);
    [d.as_ref()[0], d.as_ref()[1], d.as_ref()[2], d.as_ref()[3]]
}

/// Parses a verifier key `name+hex(id)+base64(kind ‖ 32-byte key)` of signature type
/// `kind` strictly (its id must match its name, type and key): the name, id and key.
pub fn parse_vkey(vkey: &str, kind: u8) -> Result<(String, [u8; 4], [u8; 32]), String> {
    // The key's base64 may itself hold '+': split at the first two only.
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("a verifier key is NAME+ID+KEY".into());
    };
    if !valid_name(name) {
        return Err("invalid key name".into());
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err("the key id is not 8 lowercase hex digits".into());
    }
    let key = unb64(key).ok_or("the key is not base64")?;
    if key.len() != 33 || key[0] != kind {
        return Err(format!("not a verifier key of signature type 0x{kind:02x}"));
    }
    let mut public = [0u8; 32];
    public.copy_from_slice(&key[1..]);
    let computed = typed_key_id(name, kind, &public);
    if hex(&computed) != id {
        return Err("the key id does not match the key".into());
    }
    Ok((name.to_owned(), computed, public))
}

/// A tree size as C2SP writes it: ASCII decimal, no leading zero (but `0`).
pub fn parse_size(text: &str) -> Option<u64> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    text.parse().ok().filter(|_| plain)
}

impl Verifier {
    /// Parses a verifier key strictly (its id must match its name and key).
    pub fn parse(vkey: &str) -> Result<Verifier, String> {
        let (name, id, key) = parse_vkey(vkey, ED25519)?;
        Ok(Verifier { name, id, key })
    }

    /// The key as text.
    pub fn to_vkey(&self) -> String {
        let mut key = vec![ED25519];
        key.extend_from_slice(&self.key);
        format!("{}+{}+{}", self.name, hex(&self.id), mlguard_seal::b64(&key))
    }
}

/// Parses `note` and checks its signatures against `verifiers`: signatures by unknown
/// keys are ignored, one by a known key that does not verify rejects the note, and at
/// least one known key must have signed. Returns the text and the keys that signed.
pub fn open<'a, 'v>(
    note: &'a str,
    verifiers: &'v [Verifier],
) -> Result<(&'a str, Vec<&'v Verifier>), String> {
    let parsed = parse(note)?;
    let mut signed = Vec::new();
    for s in &parsed.signatures {
        let Some(v) = verifiers.iter().find(|v| v.name == s.name && v.id == s.id) else {
            continue;
        };
        let public = UnparsedPublicKey::new(&signature::ED25519, v.key);
        if s.sig.len() != 64 || public.verify(parsed.text.as_bytes(), &s.sig).is_err() {
            return Err(format!("the signature by {} does not verify", v.name));
        }
        if !signed.iter().any(|k: &&Verifier| k.id == v.id && k.name == v.name) {
            signed.push(v);
        }
    }
    if signed.is_empty() {
        return Err("no signature by a known key".into());
    }
    Ok((parsed.text, signed))
}

/// A transparency log checkpoint's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// Extension lines (opaque).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint's note text strictly.
    pub fn parse(text: &str) -> Result<Checkpoint, String> {
        let body = text.strip_suffix('\n').ok_or("the checkpoint does not end with a newline")?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 || lines.iter().any(|l| l.is_empty()) {
            return Err("a checkpoint is at least three non-empty lines".into());
        }
        let size = lines[1];
        let plain =
            size.bytes().all(|b| b.is_ascii_digit()) && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| plain)
            .ok_or("the tree size is not a decimal number without leading zeros")?;
        let root = unb64(lines[2])
            .and_then(|r| <Hash>::try_from(r.as_slice()).ok())
            .ok_or("the root hash is not 32 bytes of base64")?;
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            size,
            root,
            extensions: lines[3..].iter().map(|l| (*l).to_owned()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // c2sp.org/signed-note's example.
    const VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn the_specifications_example_verifies() {
        let v = Verifier::parse(VKEY).expect("vkey");
        assert_eq!(v.to_vkey(), VKEY);
        let (text, signed) = open(NOTE, std::slice::from_ref(&v)).expect("verifies");
        assert_eq!(text, "This is an example message.\n");
        assert_eq!(signed.len(), 1);
    }

    #[test]
    fn anything_malformed_is_refused() {
        let v = [Verifier::parse(VKEY).expect("vkey")];
        let sig = NOTE.split("\n\n").nth(1).expect("sigs");
        let cases = [
            format!("{NOTE}junk\n"),    // a line after the signatures
            NOTE.trim_end().to_owned(), // no final newline
            NOTE.replace("example message", "example\u{7}message"), // a control character
            NOTE.replace("\u{2014} ", "- "), // not an em dash
            NOTE.replace("\n\n", "\n"), // no blank line
            format!("This is an example message.\n\n{}", sig.replace("foo ", "foo  ")),
            format!("This is an example message.\n\n{}", sig.replace("=\n", "=!\n")),
            NOTE.replace("example.com/foo U", "example.com/f+oo U"), // a plus in the name
            NOTE.replace("This is", "This was"),                     // the text changed
            "This is an example message.\n\n".to_owned(),            // no signatures
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!(open(c, &v).is_err(), "case {i} accepted: {c:?}");
        }
        // Signatures by unknown keys are ignored; known keys must have signed.
        let other = format!("{NOTE}\u{2014} example.com/other AAAAAAAAAA==\n");
        assert!(open(&other, &v).is_ok());
        assert!(open(NOTE, &[]).is_err());
        // Verifier keys: a wrong id, a wrong type, extra parts.
        assert!(Verifier::parse(&VKEY.replace("530d903a", "530d903b")).is_err());
        assert!(Verifier::parse(&format!("{VKEY}+x")).is_err());
        // A key whose base64 holds a plus sign.
        for seed in 0..64u8 {
            let k = crate::audit::AuditKeys::from_seed(&[seed; 32], "o.example/log".into())
                .expect("keys");
            assert_eq!(
                Verifier::parse(&k.verifier_key()),
                Ok(k.verifier()),
                "{}",
                k.verifier_key()
            );
        }
        assert!(
            Verifier::parse("example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
                .is_err()
        );
    }

    #[test]
    fn checkpoints_are_parsed_strictly() {
        // c2sp.org/tlog-checkpoint's example text.
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).expect("parses");
        assert_eq!((c.origin.as_str(), c.size), ("example.com/behind-the-sofa", 20_852_163));
        assert!(c.extensions.is_empty());
        let ext = format!("{text}extension\n");
        assert_eq!(Checkpoint::parse(&ext).expect("ext").extensions, ["extension"]);
        assert_eq!(
            Checkpoint::parse("o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
                .map(|c| c.size),
            Ok(0)
        );
        for bad in [
            text.replace("20852163", "020852163"),
            text.replace("20852163", "+20852163"),
            text.replace("20852163", "2085 2163"),
            text.replace("=\n", "\n"),
            format!("{text}\n"),
            text.trim_end().to_owned(),
            "example.com/x\n1\n".to_owned(),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "accepted: {bad:?}");
        }
    }
}
