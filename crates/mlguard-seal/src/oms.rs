//! OpenSSF model signing (OMS) v1.0: a Sigstore bundle holding a DSSE envelope whose
//! payload is an in-toto Statement listing every file of a model with its SHA-256.
//!
//! Interoperable with the `model_signing` package (`model_signing sign|verify key`):
//! predicate type `https://model_signing/signature/v1.0`, `files` serialization with
//! sha256, resources sorted by path component by component, subject digest = SHA-256 over
//! the concatenated resource digests, ECDSA P-256 / SHA-256 DER signature over the DSSE
//! pre-authentication encoding, public key hint = SHA-256 of the public key's PEM.
//!
//! Verification is strict: unknown members anywhere, a second signature, a different
//! key, or any extra, missing or changed file fails.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path};

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::error::SealError;
use crate::keys::{PublicKey, SigningKey, b64, hex, unb64, unhex};

/// Media type of the bundle.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// DSSE payload type.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// OMS predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// Paths ignored by default, as `model_signing` does.
pub const DEFAULT_IGNORED: &[&str] = &[".git", ".gitattributes", ".github", ".gitignore"];
/// Largest bundle read.
const MAX_BUNDLE_BYTES: u64 = 64 << 20;
/// Most files in a signed model.
const MAX_FILES: usize = 1_000_000;

/// A model's files and their SHA-256 digests, sorted component by component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelManifest {
    /// The model's name (the last component of its path).
    pub name: String,
    /// (relative POSIX path, SHA-256) of every file; `"."` for a single-file model.
    pub files: Vec<(String, [u8; 32])>,
    /// Paths (relative to the model) that were left out.
    pub ignored: Vec<String>,
}

impl ModelManifest {
    /// SHA-256 over the concatenated file digests: the Statement's subject digest.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for (_, d) in &self.files {
            ctx.update(d);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

fn sha256_file(path: &Path) -> Result<[u8; 32], SealError> {
    let mut f =
        fs::File::open(path).map_err(SealError::io(format!("cannot read {}", path.display())))?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n =
            f.read(&mut buf).map_err(SealError::io(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}

/// A relative path that stays inside the model, as components; `None` otherwise.
fn relative_components(p: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The name a signature gives the model at `path`: the last component of its canonical
/// path, as `model_signing` names it (empty if the path cannot be resolved).
pub fn model_name(path: &Path) -> String {
    path.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// Hashes every regular file of the model at `path` (a file or a directory), leaving out
/// `ignored` paths (relative to the model). Symbolic links are refused, as `model_signing`
/// does by default.
pub fn hash_model(path: &Path, ignored: &[String]) -> Result<ModelManifest, SealError> {
    let meta = fs::symlink_metadata(path)
        .map_err(SealError::io(format!("cannot read {}", path.display())))?;
    let name = model_name(path);
    let ignore: Vec<Vec<String>> = ignored.iter().filter_map(|p| relative_components(p)).collect();
    if meta.file_type().is_symlink() {
        return Err(SealError::Refused(format!(
            "{} is a symbolic link; model signing does not follow links",
            path.display()
        )));
    }
    if meta.is_file() {
        return Ok(ModelManifest {
            name,
            files: vec![(".".into(), sha256_file(path)?)],
            ignored: ignored.to_vec(),
        });
    }
    let mut files: Vec<(Vec<String>, [u8; 32])> = Vec::new();
    let mut stack: Vec<(std::path::PathBuf, Vec<String>)> = vec![(path.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = stack.pop() {
        let entries =
            fs::read_dir(&dir).map_err(SealError::io(format!("cannot list {}", dir.display())))?;
        for e in entries {
            let e = e.map_err(SealError::io(format!("cannot list {}", dir.display())))?;
            let mut r = rel.clone();
            r.push(e.file_name().to_string_lossy().into_owned());
            if ignore.iter().any(|ig| r.starts_with(ig)) {
                continue;
            }
            let p = e.path();
            let t = e.file_type().map_err(SealError::io(format!("cannot read {}", p.display())))?;
            if t.is_symlink() {
                return Err(SealError::Refused(format!(
                    "{} is a symbolic link; model signing does not follow links",
                    p.display()
                )));
            } else if t.is_dir() {
                stack.push((p, r));
            } else if t.is_file() {
                if files.len() >= MAX_FILES {
                    return Err(SealError::Limit {
                        what: "the number of files in the model",
                        got: files.len() as u64,
                        limit: MAX_FILES as u64,
                    });
                }
                files.push((r, sha256_file(&p)?));
            } else {
                return Err(SealError::Refused(format!(
                    "{} is not a regular file or directory",
                    p.display()
                )));
            }
        }
    }
    // Component by component, as Python's PurePath ordering: "a/b" < "a.b".
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(ModelManifest {
        name,
        files: files.into_iter().map(|(c, d)| (c.join("/"), d)).collect(),
        ignored: ignored.to_vec(),
    })
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Predicate,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subject {
    name: String,
    digest: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Predicate {
    serialization: Serialization,
    resources: Vec<Resource>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Serialization {
    method: String,
    hash_type: String,
    allow_symlinks: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ignore_paths: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resource {
    name: String,
    algorithm: String,
    digest: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Bundle {
    media_type: String,
    verification_material: VerificationMaterial,
    dsse_envelope: Envelope,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VerificationMaterial {
    public_key: KeyHint,
    #[serde(default)]
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyHint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<DsseSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DsseSignature {
    sig: String,
    #[serde(default)]
    keyid: Option<String>,
}

/// The DSSE pre-authentication encoding of a payload.
fn pae(payload: &[u8]) -> Vec<u8> {
    let mut out =
        format!("DSSEv1 {} {PAYLOAD_TYPE} {} ", PAYLOAD_TYPE.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The public key hint: hex SHA-256 of the key's PEM text.
pub fn key_hint(key: &PublicKey) -> String {
    hex(digest::digest(&digest::SHA256, key.to_pem().as_bytes()).as_ref())
}

/// Signs the model at `path` and returns the OMS bundle (JSON). `signature_in_model` is the
/// signature file's path relative to the model, when it is written inside it, so that it
/// is left out (and recorded as ignored).
pub fn sign_model(
    path: &Path,
    signer: &SigningKey,
    signature_in_model: Option<&str>,
) -> Result<String, SealError> {
    let mut ignored: Vec<String> = DEFAULT_IGNORED.iter().map(|s| (*s).to_owned()).collect();
    if let Some(s) = signature_in_model {
        ignored.push(s.to_owned());
    }
    sign_manifest(&hash_model(path, &ignored)?, signer)
}

/// The manifest a model of one file, `file` holding `bytes`, has once written into a
/// directory named `dir_name` with its signature beside it as `signature_file`: what
/// [`hash_model`] finds there. Lets a model be signed before it is written (a server
/// signing what a client will write).
pub fn single_file_manifest(
    dir_name: &str,
    file: &str,
    bytes: &[u8],
    signature_file: &str,
) -> ModelManifest {
    let mut d = [0u8; 32];
    d.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    let mut ignored: Vec<String> = DEFAULT_IGNORED.iter().map(|s| (*s).to_owned()).collect();
    ignored.push(signature_file.to_owned());
    ModelManifest { name: dir_name.to_owned(), files: vec![(file.to_owned(), d)], ignored }
}

/// Signs a model's manifest and returns the OMS bundle (JSON).
pub fn sign_manifest(manifest: &ModelManifest, signer: &SigningKey) -> Result<String, SealError> {
    let statement = Statement {
        kind: STATEMENT_TYPE.into(),
        subject: vec![Subject {
            name: manifest.name.clone(),
            digest: BTreeMap::from([("sha256".to_owned(), hex(&manifest.root_digest()))]),
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: Predicate {
            serialization: Serialization {
                method: "files".into(),
                hash_type: "sha256".into(),
                allow_symlinks: false,
                ignore_paths: manifest.ignored.clone(),
            },
            resources: manifest
                .files
                .iter()
                .map(|(n, d)| Resource {
                    name: n.clone(),
                    algorithm: "sha256".into(),
                    digest: hex(d),
                })
                .collect(),
        },
    };
    let payload = serde_json::to_vec(&statement).map_err(|e| SealError::Bundle(e.to_string()))?;
    let sig = signer.sign(&pae(&payload))?;
    let bundle = Bundle {
        media_type: BUNDLE_MEDIA_TYPE.into(),
        verification_material: VerificationMaterial {
            public_key: KeyHint { hint: Some(key_hint(&signer.public_key())) },
            tlog_entries: vec![],
        },
        dsse_envelope: Envelope {
            payload: b64(&payload),
            payload_type: PAYLOAD_TYPE.into(),
            signatures: vec![DsseSignature { sig: b64(&sig), keyid: Some(String::new()) }],
        },
    };
    serde_json::to_string(&bundle).map_err(|e| SealError::Bundle(e.to_string()))
}

/// Verifies an OMS bundle for the model at `path` with `key`: the signature, the
/// Statement, and that the model's files are exactly the signed ones.
pub fn verify_model(
    path: &Path,
    bundle_json: &str,
    key: &PublicKey,
) -> Result<ModelManifest, SealError> {
    if bundle_json.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(SealError::Limit {
            what: "the signature bundle",
            got: bundle_json.len() as u64,
            limit: MAX_BUNDLE_BYTES,
        });
    }
    let bad = |m: &str| SealError::Bundle(m.to_owned());
    let bundle: Bundle = serde_json::from_str(bundle_json)
        .map_err(|e| SealError::Bundle(format!("not an OMS signature bundle: {e}")))?;
    if bundle.media_type != BUNDLE_MEDIA_TYPE {
        return Err(bad(&format!("unsupported bundle media type {:?}", bundle.media_type)));
    }
    if !bundle.verification_material.tlog_entries.is_empty() {
        return Err(bad("the bundle has transparency-log entries: it was not signed with a key"));
    }
    if let Some(hint) = &bundle.verification_material.public_key.hint
        && *hint != key_hint(key)
    {
        return Err(bad("the bundle names a different public key than the one given"));
    }
    let env = &bundle.dsse_envelope;
    if env.payload_type != PAYLOAD_TYPE {
        return Err(bad(&format!("unsupported payload type {:?}", env.payload_type)));
    }
    let [signature] = env.signatures.as_slice() else {
        return Err(bad("the envelope must hold exactly one signature"));
    };
    let payload = unb64(&env.payload).ok_or_else(|| bad("the payload is not base64"))?;
    let sig = unb64(&signature.sig).ok_or_else(|| bad("the signature is not base64"))?;
    key.verify(&pae(&payload), &sig)?;
    // Signed: now interpret the Statement.
    let st: Statement = serde_json::from_slice(&payload)
        .map_err(|e| SealError::Bundle(format!("the signed statement is not valid: {e}")))?;
    if st.kind != STATEMENT_TYPE || st.predicate_type != PREDICATE_TYPE {
        return Err(bad("unsupported statement or predicate type"));
    }
    let [subject] = st.subject.as_slice() else {
        return Err(bad("the statement must have exactly one subject"));
    };
    let ser = &st.predicate.serialization;
    if ser.method != "files" || ser.hash_type != "sha256" {
        return Err(bad(&format!("unsupported serialization {} / {}", ser.method, ser.hash_type)));
    }
    if ser.allow_symlinks {
        return Err(bad("signatures that follow symbolic links are not supported"));
    }
    let mut expected = Vec::with_capacity(st.predicate.resources.len());
    for r in &st.predicate.resources {
        if r.algorithm != "sha256" {
            return Err(bad(&format!("unsupported digest algorithm {:?}", r.algorithm)));
        }
        let d = unhex::<32>(&r.digest)
            .ok_or_else(|| bad(&format!("malformed digest for {:?}", r.name)))?;
        expected.push((r.name.clone(), d));
    }
    let claimed = ModelManifest {
        name: subject.name.clone(),
        files: expected,
        ignored: ser.ignore_paths.clone(),
    };
    let root = subject
        .digest
        .get("sha256")
        .and_then(|h| unhex::<32>(h))
        .ok_or_else(|| bad("the subject has no sha256 digest"))?;
    if subject.digest.len() != 1 || root != claimed.root_digest() {
        return Err(bad("the subject digest does not match the resources"));
    }
    let mut ignored: Vec<String> = DEFAULT_IGNORED.iter().map(|s| (*s).to_owned()).collect();
    ignored.extend(ser.ignore_paths.iter().filter(|p| relative_components(p).is_some()).cloned());
    let actual = hash_model(path, &ignored)?;
    let want: BTreeMap<&str, &[u8; 32]> =
        claimed.files.iter().map(|(n, d)| (n.as_str(), d)).collect();
    let have: BTreeMap<&str, &[u8; 32]> =
        actual.files.iter().map(|(n, d)| (n.as_str(), d)).collect();
    if want.len() != claimed.files.len() {
        return Err(bad("the statement lists a file twice"));
    }
    let extra: Vec<String> =
        have.keys().filter(|k| !want.contains_key(*k)).map(|k| (*k).to_owned()).collect();
    let missing: Vec<String> =
        want.keys().filter(|k| !have.contains_key(*k)).map(|k| (*k).to_owned()).collect();
    let changed: Vec<String> = want
        .iter()
        .filter(|(k, d)| have.get(*k).is_some_and(|h| h != *d))
        .map(|(k, _)| (*k).to_owned())
        .collect();
    if !extra.is_empty() || !missing.is_empty() || !changed.is_empty() {
        return Err(SealError::ModelMismatch { extra, missing, changed });
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_every_kind_of_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = dir.path().join("model");
        fs::create_dir_all(m.join("sub")).expect("mkdir");
        fs::create_dir_all(m.join(".git")).expect("mkdir");
        fs::write(m.join("weights.bin"), b"w").expect("write");
        fs::write(m.join("sub/config.json"), b"{}").expect("write");
        fs::write(m.join("a.b"), b"x").expect("write");
        fs::write(m.join(".git/HEAD"), b"ref").expect("write");
        let key = SigningKey::generate().expect("key");
        let bundle = sign_model(&m, &key, None).expect("sign");
        let ok = verify_model(&m, &bundle, &key.public_key()).expect("verifies");
        let names: Vec<&str> = ok.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec!["a.b", "sub/config.json", "weights.bin"],
            "component order, .git ignored"
        );

        fs::write(m.join(".git/HEAD"), b"changed").expect("write");
        verify_model(&m, &bundle, &key.public_key()).expect("git paths are ignored");
        fs::write(m.join("weights.bin"), b"W").expect("write");
        let e = verify_model(&m, &bundle, &key.public_key()).expect_err("changed");
        assert!(
            matches!(e, SealError::ModelMismatch { ref changed, .. } if changed == &["weights.bin"]),
            "{e}"
        );
        fs::write(m.join("weights.bin"), b"w").expect("write");
        fs::write(m.join("extra.txt"), b"e").expect("write");
        assert!(
            matches!(verify_model(&m, &bundle, &key.public_key()), Err(SealError::ModelMismatch { ref extra, .. }) if extra == &["extra.txt"])
        );
        fs::remove_file(m.join("extra.txt")).expect("rm");
        fs::remove_file(m.join("a.b")).expect("rm");
        assert!(
            matches!(verify_model(&m, &bundle, &key.public_key()), Err(SealError::ModelMismatch { ref missing, .. }) if missing == &["a.b"])
        );
        fs::write(m.join("a.b"), b"x").expect("write");
        verify_model(&m, &bundle, &key.public_key()).expect("restored");

        let other = SigningKey::generate().expect("key");
        assert!(verify_model(&m, &bundle, &other.public_key()).is_err(), "other key");
        let mut v: serde_json::Value = serde_json::from_str(&bundle).expect("json");
        v["dsseEnvelope"]["extra"] = serde_json::json!(1);
        assert!(
            matches!(
                verify_model(&m, &v.to_string(), &key.public_key()),
                Err(SealError::Bundle(_))
            ),
            "unknown member"
        );
        let mut v: serde_json::Value = serde_json::from_str(&bundle).expect("json");
        v["verificationMaterial"]["publicKey"] = serde_json::json!({});
        verify_model(&m, &v.to_string(), &key.public_key()).expect("the hint is optional");
        let mut v: serde_json::Value = serde_json::from_str(&bundle).expect("json");
        let sig = v["dsseEnvelope"]["signatures"][0].clone();
        v["dsseEnvelope"]["signatures"] = serde_json::json!([sig.clone(), sig]);
        assert!(verify_model(&m, &v.to_string(), &key.public_key()).is_err(), "two signatures");
    }

    #[test]
    fn single_file_models() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("model.safetensors");
        fs::write(&f, b"tensor").expect("write");
        let key = SigningKey::generate().expect("key");
        let bundle = sign_model(&f, &key, None).expect("sign");
        let m = verify_model(&f, &bundle, &key.public_key()).expect("verify");
        assert_eq!(m.files[0].0, ".");
        assert_eq!(m.name, "model.safetensors");
        fs::write(&f, b"tensoR").expect("write");
        assert!(verify_model(&f, &bundle, &key.public_key()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = dir.path().join("model");
        fs::create_dir(&m).expect("mkdir");
        fs::write(dir.path().join("outside"), b"secret").expect("write");
        std::os::unix::fs::symlink(dir.path().join("outside"), m.join("link")).expect("symlink");
        let key = SigningKey::generate().expect("key");
        assert!(matches!(sign_model(&m, &key, None), Err(SealError::Refused(_))));
    }
}
