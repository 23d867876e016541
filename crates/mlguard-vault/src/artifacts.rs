//! The vault's keys used on files outside it: sealing, opening and verifying artifacts,
//! signing model directories, and trusting other signers. Operations like the others —
//! allowed by the policy (`key.use`, `key.trust`) and recorded once per call, before
//! anything they produce is released.

use std::io::{Read, Seek, Write};
use std::path::Path;

use mlguard_seal::{Core, Keystore, SealOptions, SignerPolicy, Verified};
use serde_json::json;

use crate::audit::{Event, Outcome};
use crate::context::Ctx;
use crate::identity::Action;
use crate::{Vault, VaultError};

impl Vault {
    /// Seals `input` (named `name` in the log) into `output` with the vault's keys
    /// (`key.use`, op `seal`, recorded after the artifact is written and before the caller
    /// releases it).
    pub fn seal_artifact<R: Read + Seek, W: Write>(
        &self,
        cx: &Ctx,
        name: &str,
        input: &mut R,
        output: &mut W,
        opts: &SealOptions,
    ) -> Result<Core, VaultError> {
        let event = Event::new(Action::KeyUse, name, Outcome::Allowed).op("seal");
        self.operation(cx, &event, || {
            let core = mlguard_seal::seal(input, output, &self.keys(), opts)?;
            self.record(cx, &event.clone().field("id", core.id.clone()))?;
            Ok(core)
        })
    }

    /// Verifies and decrypts the artifact `input` (named `name` in the log) into `output`
    /// (`key.use`, op `open`, recorded once every check passed, before the caller releases
    /// the plaintext).
    pub fn open_artifact<R: Read, W: Write>(
        &self,
        cx: &Ctx,
        name: &str,
        input: &mut R,
        output: &mut W,
        signers: SignerPolicy,
    ) -> Result<Verified, VaultError> {
        let event = Event::new(Action::KeyUse, name, Outcome::Allowed).op("open");
        self.operation(cx, &event, || {
            let v = mlguard_seal::open(input, output, &self.keys(), signers)?;
            self.record(cx, &event.clone().field("signer", v.signer.clone()))?;
            Ok(v)
        })
    }

    /// Verifies the artifact `input` completely without releasing its plaintext
    /// (`key.use`, op `verify`).
    pub fn verify_artifact<R: Read>(
        &self,
        cx: &Ctx,
        name: &str,
        input: &mut R,
        signers: SignerPolicy,
    ) -> Result<Verified, VaultError> {
        let event = Event::new(Action::KeyUse, name, Outcome::Allowed).op("verify");
        self.reading(cx, &event, || Ok(mlguard_seal::verify(input, &self.keys(), signers)?))
    }

    /// Signs the model at `path` (a file or a directory) as an OpenSSF model-signing
    /// bundle; `signature_in_model` names the bundle's own path inside a model directory
    /// (it must not sign itself). Returns the bundle and the key id (`key.use`, op `sign`).
    pub fn sign_model_files(
        &self,
        cx: &Ctx,
        path: &Path,
        signature_in_model: Option<&str>,
    ) -> Result<(String, String), VaultError> {
        let name = path.display().to_string();
        let event = Event::new(Action::KeyUse, &name, Outcome::Allowed).op("sign");
        self.reading(cx, &event, || {
            let keys = self.keys();
            let bundle = mlguard_seal::sign_model(path, keys.signer(), signature_in_model)?;
            Ok((bundle, keys.signer_public().key_id()))
        })
    }

    /// Trusts another signer's public key (PEM) under `name`: artifacts it signs verify
    /// from then on (`key.trust`, recorded with the key's id). Takes effect for vaults
    /// opened afterwards.
    pub fn trust_signer(&self, cx: &Ctx, pem: &str, name: &str) -> Result<String, VaultError> {
        let event = Event::new(Action::KeyTrust, name, Outcome::Allowed);
        self.operation(cx, &event, || {
            let key = mlguard_seal::PublicKey::from_pem(pem)?;
            self.record(cx, &event.clone().detail(json!({"key": key.key_id()})))?;
            Ok(Keystore::open(self.root())?.trust(pem, name)?)
        })
    }
}
