//! The vault's reading operations: what the CLI, the server and (later) Python ask of a
//! vault without changing it. Each is allowed by the policy for the context's actor and
//! recorded like any other operation (one entry per call, allowed, denied or failed);
//! models leave only through [`Vault::shareable_model`], with their split seed removed.

use std::sync::Arc;

use mlguard_data::protect::PseudonymKey;
use mlguard_learn::Model;
use serde_json::json;

use crate::audit::{AuditVerification, Event, Outcome};
use crate::context::Ctx;
use crate::identity::Action;
use crate::store::Backends;
use crate::{DatasetRecord, ModelRecord, ServingModel, Vault, VaultError, parse_ref};

/// A signed model export, in memory ([`Vault::export_signed`]).
#[derive(Debug, Clone)]
pub struct SignedExport {
    /// The model version.
    pub record: ModelRecord,
    /// Its plaintext safetensors (never the split seed).
    pub safetensors: Vec<u8>,
    /// The OpenSSF model-signing bundle (JSON) for `model.safetensors` in its directory.
    pub signature: String,
    /// The signing key's id.
    pub key_id: String,
}

fn versioned(name: &str, version: u32) -> String {
    format!("{name}@{version}")
}

impl Vault {
    pub(crate) fn dataset_record(&self, reference: &str) -> Result<DatasetRecord, VaultError> {
        let (name, version) = parse_ref(reference)?;
        self.catalog().dataset(&name, version)
    }

    pub(crate) fn model_record(&self, reference: &str) -> Result<ModelRecord, VaultError> {
        let (name, version) = parse_ref(reference)?;
        self.catalog().model(&name, version)
    }

    /// The model of `reference` as it may leave the vault, read as `event` records.
    fn shareable(
        &self,
        cx: &Ctx,
        event: &Event,
        reference: &str,
    ) -> Result<(ModelRecord, Model), VaultError> {
        self.reading(cx, event, || {
            let record = self.model_record(reference)?;
            let model = self.shareable_model(&record)?;
            Ok((record, model))
        })
    }

    /// Every dataset version, by name then version (`dataset.list`).
    pub fn list_datasets(&self, cx: &Ctx) -> Result<Vec<DatasetRecord>, VaultError> {
        let event = Event::new(Action::DatasetList, "datasets", Outcome::Allowed);
        self.reading(cx, &event, || self.catalog().datasets())
    }

    /// A dataset version's record: schema, what ingestion found and did (`dataset.read`,
    /// op `describe`; no data is read).
    pub fn dataset(&self, cx: &Ctx, reference: &str) -> Result<DatasetRecord, VaultError> {
        let event = Event::new(Action::DatasetRead, reference, Outcome::Allowed).op("describe");
        self.reading(cx, &event, || self.dataset_record(reference))
    }

    /// Every model version, by name then version (`model.list`).
    pub fn list_models(&self, cx: &Ctx) -> Result<Vec<ModelRecord>, VaultError> {
        let event = Event::new(Action::ModelList, "models", Outcome::Allowed);
        self.reading(cx, &event, || self.catalog().models())
    }

    /// A model version's record and the model, verified completely, without its split
    /// seed (`model.read`, op `inspect`).
    pub fn model(&self, cx: &Ctx, reference: &str) -> Result<(ModelRecord, Model), VaultError> {
        let event = Event::new(Action::ModelRead, reference, Outcome::Allowed).op("inspect");
        self.shareable(cx, &event, reference)
    }

    /// Verifies a model version completely: signature, every segment, digest, catalog
    /// entry and safetensors structure (`model.read`, op `verify`; a model that does not
    /// verify is recorded as failed).
    pub fn verify_model(
        &self,
        cx: &Ctx,
        reference: &str,
    ) -> Result<(ModelRecord, Model), VaultError> {
        let event = Event::new(Action::ModelRead, reference, Outcome::Allowed).op("verify");
        self.shareable(cx, &event, reference)
    }

    /// A model version as it may leave the vault: verified, without its split seed
    /// (`model.export`, recorded before it is released).
    pub fn export_model(
        &self,
        cx: &Ctx,
        reference: &str,
    ) -> Result<(ModelRecord, Model), VaultError> {
        let event = Event::new(Action::ModelExport, reference, Outcome::Allowed).op("download");
        self.shareable(cx, &event, reference)
    }

    /// A model version as plaintext safetensors with an OpenSSF model-signing bundle made
    /// with the vault's key, for a directory named `dir_name` holding `model.safetensors`
    /// and `model.sig` (`model.export`, op `export`, recorded before anything is released).
    pub fn export_signed(
        &self,
        cx: &Ctx,
        reference: &str,
        dir_name: &str,
    ) -> Result<SignedExport, VaultError> {
        let event = Event::new(Action::ModelExport, reference, Outcome::Allowed)
            .op("export")
            .detail(json!({"to": dir_name}));
        self.operation(cx, &event, || {
            let record = self.model_record(reference)?;
            let model = self.shareable_model(&record)?;
            self.record(
                cx,
                &event.clone().field("model", versioned(&record.name, record.version)),
            )?;
            let safetensors = model.to_safetensors();
            let manifest = mlguard_seal::single_file_manifest(
                dir_name,
                "model.safetensors",
                &safetensors,
                "model.sig",
            );
            let keys = self.keys();
            let signature = mlguard_seal::sign_manifest(&manifest, keys.signer())?;
            let key_id = keys.signer_public().key_id();
            Ok(SignedExport { record, safetensors, signature, key_id })
        })
    }

    /// A model version loaded for predictions, verified on first use and kept while the
    /// catalog names the same object (`model.predict`, recorded with the number of rows
    /// before any prediction is released).
    pub fn prediction_model(
        &self,
        cx: &Ctx,
        reference: &str,
        rows: usize,
    ) -> Result<Arc<ServingModel>, VaultError> {
        let event = Event::new(Action::ModelPredict, reference, Outcome::Allowed)
            .detail(json!({"rows": rows}));
        self.reading(cx, &event, || {
            let record = self.model_record(reference)?;
            self.model_names.put(reference, &record);
            self.cached_serving_model(&record)
        })
    }

    /// [`Vault::prediction_model`] from memory alone, for a caller that must not block:
    /// when the token holder's role may predict without a second factor by the policy
    /// cached, and `reference` names a model loaded for serving (all read less than
    /// [`crate::identity::CACHE_TIME`] ago), the model and the receipt of its
    /// `model.predict` entry, queued. Nothing may be released before the receipt answers
    /// with the entry's index; then [`Vault::checkpoint_due`] says whether to sign a
    /// checkpoint. `None` when anything must be read first or the request is refused:
    /// call [`Vault::prediction_model`] (which records a refusal) where blocking is allowed.
    pub fn prediction_model_cached(
        &self,
        cx: &Ctx,
        reference: &str,
        rows: usize,
    ) -> Result<Option<(Arc<ServingModel>, crate::store::Receipt)>, VaultError> {
        let crate::Actor::Token(who) = cx.actor() else { return Ok(None) };
        let Some(policy) = self.policy_cached() else { return Ok(None) };
        if !policy.allows(&who.role, Action::ModelPredict) || policy.needs_mfa(Action::ModelPredict)
        {
            return Ok(None);
        }
        let Some(model) =
            self.model_names.get(reference).and_then(|r| self.serving_model_loaded(&r))
        else {
            return Ok(None);
        };
        let event = Event::new(Action::ModelPredict, reference, Outcome::Allowed)
            .detail(json!({"rows": rows}));
        Ok(Some((model, self.record_queued(cx, &event)?)))
    }

    /// The vault's pseudonym key, to protect a table outside the vault with the pseudonyms
    /// its datasets get (`dataset.protect`, recorded with the input, the output and `k`
    /// before anything is written).
    pub fn protection_key(
        &self,
        cx: &Ctx,
        input: &str,
        output: &str,
        k: usize,
    ) -> Result<PseudonymKey, VaultError> {
        let event = Event::new(Action::DatasetProtect, input, Outcome::Allowed)
            .detail(json!({"output": output, "k": k}));
        self.reading(cx, &event, || self.pseudonym_key())
    }

    /// Audit entries from index `from`, as recorded (`audit.read`, op `entries`).
    pub fn audit_entries(&self, cx: &Ctx, from: u64) -> Result<Vec<String>, VaultError> {
        let event = Event::new(Action::AuditRead, "audit", Outcome::Allowed).op("entries");
        self.reading(cx, &event, || {
            Ok(self.catalog().audit_entries(from)?.into_iter().map(|(_, text, _)| text).collect())
        })
    }

    /// The latest signed checkpoint, as a C2SP signed note (`audit.read`, op
    /// `checkpoint`; signs one first when the log grew).
    pub fn audit_checkpoint(&self, cx: &Ctx) -> Result<String, VaultError> {
        let event = Event::new(Action::AuditRead, "audit", Outcome::Allowed).op("checkpoint");
        self.reading(cx, &event, || {
            self.checkpoint()?;
            self.cosign_latest()?;
            self.catalog()
                .latest_checkpoint()?
                .map(|c| c.note)
                .ok_or_else(|| VaultError::NotFound("a checkpoint (the log is empty)".into()))
        })
    }

    /// The inclusion proof of entry `index` (`audit.read`, op `proof`).
    pub fn audit_proof(&self, cx: &Ctx, index: u64) -> Result<serde_json::Value, VaultError> {
        let event = Event::new(Action::AuditRead, "audit", Outcome::Allowed)
            .op("proof")
            .detail(json!({"index": index}));
        self.reading(cx, &event, || self.proof(index))
    }

    /// The consistency proof from the tree of the first `from` entries to the latest
    /// checkpoint (`audit.read`, op `consistency`).
    pub fn audit_consistency(&self, cx: &Ctx, from: u64) -> Result<serde_json::Value, VaultError> {
        let event = Event::new(Action::AuditRead, "audit", Outcome::Allowed)
            .op("consistency")
            .detail(json!({"from": from}));
        self.reading(cx, &event, || self.consistency(from))
    }

    /// Recomputes the whole audit log (`audit.verify`, recorded after the entries it
    /// verified).
    pub fn verify_audit(&self, cx: &Ctx) -> Result<AuditVerification, VaultError> {
        let event = Event::new(Action::AuditVerify, "audit", Outcome::Allowed);
        self.reading(cx, &event, || self.verify_log())
    }

    /// Removes sealed objects that no dataset or model refers to and that are older than
    /// `grace` (`vault.gc`): what writes interrupted between storing an object and
    /// recording it left. Younger orphans may belong to a change being recorded right now
    /// and are kept. Recorded with what was removed.
    pub fn collect_garbage(
        &self,
        cx: &Ctx,
        grace: std::time::Duration,
    ) -> Result<Collected, VaultError> {
        let asked = Event::new(Action::VaultGc, "objects", Outcome::Allowed);
        self.operation(cx, &asked, || {
            let mut referenced = std::collections::HashSet::new();
            for d in self.catalog().datasets()? {
                referenced.extend(d.objects().map(str::to_owned));
            }
            referenced.extend(self.catalog().models()?.into_iter().map(|m| m.object));
            let now = std::time::SystemTime::now();
            let mut c = Collected::default();
            for name in self.objects().list()? {
                if referenced.contains(&name) {
                    c.referenced += 1;
                    continue;
                }
                let age = now.duration_since(self.objects().modified(&name)?).unwrap_or_default();
                if age < grace {
                    c.young.push(name);
                } else {
                    c.removed.push(name);
                }
            }
            // Recorded before anything is removed.
            let detail = json!({"removed": c.removed, "kept_young": c.young.len()});
            self.record(cx, &asked.clone().detail(detail))?;
            for name in &c.removed {
                self.objects().delete(name)?;
            }
            Ok(c)
        })
    }
}

impl Vault {
    /// Copies this vault into the (empty) stores `to` and moves it there (`vault.migrate`):
    /// every object copied and verified in its new place, the catalog (datasets, models,
    /// users, tokens with their second factors, the policy) and the audit log copied entry
    /// for entry — the migration's own entry, written first, included — and the copy's log
    /// checked entry for entry (so the same Merkle root); then `config.toml` names the new stores. The
    /// old stores are left as they were. Other processes must not write meanwhile.
    pub fn migrate(&self, cx: &Ctx, to: &Backends) -> Result<Migrated, VaultError> {
        let event = Event::new(Action::VaultMigrate, "vault", Outcome::Allowed)
            .detail(json!({"catalog": to.catalog, "objects": to.objects, "policy": to.policy}));
        self.operation(cx, &event, || {
            let target = to.open(self.root())?;
            if !target.catalog.datasets()?.is_empty()
                || !target.catalog.users()?.is_empty()
                || target.catalog.audit_len()? > 0
            {
                return Err(VaultError::Refused(
                    "the target stores are not empty: a vault migrates into new stores only".into(),
                ));
            }
            let objects: Vec<String> = {
                let mut names: Vec<String> = Vec::new();
                for d in self.catalog().datasets()? {
                    names.extend(d.objects().map(str::to_owned));
                }
                names.extend(self.catalog().models()?.into_iter().map(|m| m.object));
                names
            };
            self.record(cx, &event.clone().field("copying", json!({"objects": objects.len()})))?;
            self.sync()?;
            let keys = self.keys();
            for name in &objects {
                let mut from = self.objects().get(name)?;
                let mut w = target.objects.create(name)?;
                std::io::copy(&mut from, &mut w)
                    .map_err(crate::io_err(format!("cannot copy the object {name}")))?;
                w.commit()?;
                let mut copied = target.objects.get(name)?;
                mlguard_seal::verify(&mut copied, &keys, mlguard_seal::SignerPolicy::TrustedOnly)
                    .map_err(|e| {
                    VaultError::Tampered(format!("the copy of {name} does not verify: {e}"))
                })?;
            }
            let snapshot = self.catalog().export()?;
            target.catalog.import(&snapshot)?;
            if let Some((text, _)) = self.policy_store().load()? {
                target.policy.store(&text, true)?;
            }
            target.catalog.publish_checkpoint_key(&self.audit_keys().verifier_key())?;
            // The copy's log is the log: entry for entry (so the same leaves and root).
            let copied = target.catalog.audit_entries(0)?;
            if copied != snapshot.audit {
                return Err(VaultError::Tampered(
                    "the copied audit log differs from the original".into(),
                ));
            }
            to.write(self.root(), true)?;
            Ok(Migrated { objects: objects.len(), entries: copied.len() as u64 })
        })
    }
}

/// What [`Vault::migrate`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// Sealed objects copied and verified.
    pub objects: usize,
    /// Audit entries copied.
    pub entries: u64,
}

/// What [`Vault::collect_garbage`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Objects a catalog row refers to.
    pub referenced: usize,
    /// Orphans removed.
    pub removed: Vec<String>,
    /// Orphans kept because they are younger than the grace period.
    pub young: Vec<String>,
}
