//! A client of the AWS KMS API (AWS KMS itself, or a service speaking its protocol):
//! `Encrypt` and `Decrypt` with a symmetric key, each bound to the vault by an
//! encryption context. Requests are signed (SigV4) by `object_store`'s signer: no AWS SDK.
//!
//! KMS wraps the keyring's key-encryption key only: it is called when a vault is created
//! and when a process unlocks it, never per request.
//!
//! Configuration, from the standard AWS variables: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`),
//! and `AWS_ENDPOINT_URL_KMS` or `AWS_ENDPOINT_URL` for a service that is not AWS.

use std::collections::BTreeMap;

use base64::Engine as _;
use object_store::aws::{AwsAuthorizer, AwsCredential};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::VaultError;

/// The encryption context that binds a wrapped key to the vault `vault` (its random id):
/// KMS refuses to decrypt it under another.
pub fn context(vault: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("mlguard-vault".to_owned(), vault.to_owned())])
}

/// A KMS key, and how to reach the service that holds it.
pub struct Kms {
    key_id: String,
    region: String,
    endpoint: String,
    credential: AwsCredential,
    http: reqwest::blocking::Client,
}

impl Kms {
    /// The key `key_id` (a key id, an ARN or an alias), the service and the credentials
    /// taken from the environment.
    pub fn from_env(key_id: &str) -> Result<Kms, VaultError> {
        Kms::with_settings(key_id, &[])
    }

    /// As [`Kms::from_env`], with AWS variables given in `settings` over the environment's.
    pub fn with_settings(key_id: &str, settings: &[(&str, &str)]) -> Result<Kms, VaultError> {
        let get = |k: &str| crate::store::setting(settings, k);
        if key_id.is_empty() {
            return Err(VaultError::Config("the KMS key id is empty".into()));
        }
        let config = |what: &str| {
            VaultError::Config(format!("the KMS key {key_id} needs {what} in the environment"))
        };
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .or_else(|| {
                // An ARN names its region: arn:aws:kms:REGION:ACCOUNT:key/ID
                key_id.strip_prefix("arn:").and_then(|a| a.split(':').nth(2)).map(str::to_owned)
            })
            .ok_or_else(|| config("AWS_REGION"))?;
        let endpoint = get("AWS_ENDPOINT_URL_KMS")
            .or_else(|| get("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://kms.{region}.amazonaws.com"));
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        if !endpoint.starts_with("https://") && !crate::store::loopback_http(&endpoint) {
            return Err(VaultError::Config(format!(
                "the KMS endpoint {endpoint} is not HTTPS (plain HTTP only on this machine)"
            )));
        }
        let credential = AwsCredential {
            key_id: get("AWS_ACCESS_KEY_ID").ok_or_else(|| config("AWS_ACCESS_KEY_ID"))?,
            secret_key: get("AWS_SECRET_ACCESS_KEY")
                .ok_or_else(|| config("AWS_SECRET_ACCESS_KEY"))?,
            token: get("AWS_SESSION_TOKEN"),
        };
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .timeout(std::time::Duration::from_secs(30))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| VaultError::Config(format!("cannot set up the KMS client: {e}")))?;
        Ok(Kms { key_id: key_id.to_owned(), region, endpoint, credential, http })
    }

    /// The key's id as configured.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plaintext` (at most 4 KiB) under the key, bound to `context`; the
    /// ciphertext blob (base64) KMS returns.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<String, VaultError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = json!({
            "KeyId": self.key_id,
            "Plaintext": b64.encode(plaintext),
            "EncryptionContext": context,
        });
        let answer = self.call("Encrypt", &body)?;
        answer["CiphertextBlob"].as_str().map(str::to_owned).ok_or_else(|| {
            VaultError::Unavailable("the KMS answered Encrypt without a ciphertext".into())
        })
    }

    /// Decrypts a blob made by [`Kms::encrypt`] with the same `context`.
    pub fn decrypt(
        &self,
        blob: &str,
        context: &BTreeMap<String, String>,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let body = json!({
            "KeyId": self.key_id,
            "CiphertextBlob": blob,
            "EncryptionContext": context,
        });
        let answer = Zeroizing::new(self.call("Decrypt", &body)?.to_string());
        let answer: Value = serde_json::from_str(&answer)
            .map_err(|e| VaultError::Unavailable(format!("the KMS answer is malformed: {e}")))?;
        let plain = answer["Plaintext"].as_str().ok_or_else(|| {
            VaultError::Unavailable("the KMS answered Decrypt without a plaintext".into())
        })?;
        base64::engine::general_purpose::STANDARD
            .decode(plain)
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Unavailable("the KMS plaintext is not base64".into()))
    }

    /// One signed call of the KMS JSON protocol.
    fn call(&self, op: &str, body: &Value) -> Result<Value, VaultError> {
        let unavailable =
            |e: String| VaultError::Unavailable(format!("the KMS ({}) {op}: {e}", self.endpoint));
        let payload = body.to_string().into_bytes();
        let mut req: object_store::client::HttpRequest = http::Request::builder()
            .method("POST")
            .uri(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("TrentService.{op}"))
            .body(payload.clone().into())
            .map_err(|e| unavailable(e.to_string()))?;
        AwsAuthorizer::new(&self.credential, "kms", &self.region)
            .with_sign_payload(true)
            .try_authorize(&mut req, None)
            .map_err(|e| unavailable(format!("cannot sign the request: {e}")))?;
        let mut send = self.http.post(format!("{}/", self.endpoint)).body(payload);
        for (name, value) in req.headers() {
            send = send.header(name.as_str(), value.as_bytes());
        }
        let response = send.send().map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        let text = Zeroizing::new(response.text().map_err(|e| unavailable(e.to_string()))?);
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| unavailable(e.to_string()));
        }
        // AWS errors: {"__type": "...#NotFoundException", "message": "..."}
        let err: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let kind = err["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("").to_owned();
        let message = err["message"].as_str().or(err["Message"].as_str()).unwrap_or("");
        let message = mlguard_findings::terminal_safe(message, false);
        let what =
            format!("{op} with the key {} refused ({status} {kind}: {message})", self.key_id);
        Err(match kind.as_str() {
            "InvalidCiphertextException" | "IncorrectKeyException" => {
                VaultError::Tampered(format!(
                    "the KMS cannot decrypt the vault's wrapped key: {what}; it was not made by this key \
                 for this vault"
                ))
            }
            "" if status.is_server_error() => unavailable(format!("{status}")),
            _ if status.is_server_error() => unavailable(what),
            _ => VaultError::Config(what),
        })
    }
}
