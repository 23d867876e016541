//! The scale-out object store: sealed objects on S3 or any S3-compatible store
//! (`s3://BUCKET/PREFIX`), through `object_store`.
//!
//! - Written as they are made: a small object in one `PUT` (create-only, `If-None-Match:
//!   *`, unless it replaces one), a large one as a multipart upload of
//!   [`PART_SIZE`] parts with at most [`PARTS_IN_FLIGHT`] in flight (memory stays flat
//!   whatever the size). Nothing is visible under the name before the upload completes,
//!   and an upload dropped before [`ObjectWriter::commit`] is aborted.
//! - Read in ranges of [`PART_SIZE`], never whole in memory.
//! - Credentials, region and endpoint from the standard AWS variables (`AWS_ACCESS_KEY_ID`,
//!   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`).
//! - On open, a probe checks that the store honours conditional writes (a second
//!   create-only `PUT` of one key must fail): a store that silently overwrites is refused.
//!
//! The vault's API is synchronous: requests run on this store's own small runtime.

use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    GetOptions, GetRange, ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions,
    WriteMultipart,
};
use tokio::runtime::Runtime;

use super::{ObjectStore, ObjectWriter};
use crate::VaultError;

/// Size of a multipart upload's parts and of ranged reads.
pub(crate) const PART_SIZE: usize = 8 << 20;
/// Parts uploaded at once by one writer.
pub(crate) const PARTS_IN_FLIGHT: usize = 2;

/// Sealed objects under `s3://BUCKET/PREFIX/objects/`.
pub struct S3Objects {
    rt: Arc<Runtime>,
    store: Arc<AmazonS3>,
    /// `PREFIX/objects`
    dir: Key,
    location: String,
}

/// What failed talking to the store: a missing object, a refused request, or a store
/// that cannot be reached.
fn failed(what: &str, e: object_store::Error) -> VaultError {
    match e {
        object_store::Error::NotFound { .. } => {
            VaultError::Tampered(format!("{what}: the object store has no such object"))
        }
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => VaultError::Config(format!(
            "{what}: the object store refused the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): {e}"
        )),
        object_store::Error::Generic { .. } => {
            VaultError::Unavailable(format!("{what}: the object store failed ({e})"))
        }
        e => VaultError::Unavailable(format!("{what}: {e}")),
    }
}

impl S3Objects {
    /// The store at `url` (`s3://BUCKET` or `s3://BUCKET/PREFIX`), configured by the
    /// standard AWS variables; checks that it can be reached and honours conditional
    /// writes.
    pub fn open(url: &str) -> Result<S3Objects, VaultError> {
        S3Objects::open_with(url, &[])
    }

    /// As [`S3Objects::open`], with settings given as AWS variables (`("AWS_REGION",
    /// "eu-west-1")`) over those of the environment.
    pub fn open_with(url: &str, settings: &[(&str, &str)]) -> Result<S3Objects, VaultError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            VaultError::Config(format!("{url:?} is not an s3://BUCKET/PREFIX address"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if bucket.is_empty() {
            return Err(VaultError::Config(format!("{url:?} names no bucket")));
        }
        let mut builder = AmazonS3Builder::from_env();
        for (k, v) in settings {
            let key = k.to_ascii_lowercase().parse().map_err(|_| {
                VaultError::Config(format!("{k} is not a setting of the object store"))
            })?;
            builder = builder.with_config(key, *v);
        }
        builder = builder.with_bucket_name(bucket);
        let env = |k: &str| super::setting(settings, k);
        if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
            builder = builder.with_region("us-east-1");
        }
        // Plain HTTP only to a store on this machine (a test server, a local gateway), or
        // when asked with AWS_ALLOW_HTTP=true.
        if let Some(endpoint) = env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT"))
            && super::loopback_http(&endpoint)
        {
            builder = builder.with_allow_http(true);
        }
        let store = builder.build().map_err(|e| {
            VaultError::Config(format!("the object store {url} cannot be used: {e}"))
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mlguard-s3")
            .enable_all()
            .build()
            .map_err(crate::io_err("cannot start the object store's runtime"))?;
        let dir = if prefix.is_empty() {
            Key::from("objects")
        } else {
            Key::from(format!("{prefix}/objects"))
        };
        let s3 = S3Objects {
            rt: Arc::new(rt),
            store: Arc::new(store),
            dir,
            location: format!("s3://{bucket}{}{prefix}", if prefix.is_empty() { "" } else { "/" }),
        };
        s3.probe()?;
        super::sweep_temp_scratch();
        Ok(s3)
    }

    /// Where the objects are, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Refuses a store that ignores conditional writes: a create-only `PUT` of a key that
    /// exists must fail.
    fn probe(&self) -> Result<(), VaultError> {
        let id: [u8; 16] = mlguard_seal::random()?;
        let key = self.dir.clone().join(format!(".probe-{}", mlguard_seal::hex(&id)));
        let create = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
        let what = format!("the object store {}", self.location);
        self.rt
            .block_on(self.store.put_opts(&key, Bytes::from_static(b"1").into(), create.clone()))
            .map_err(|e| failed(&what, e))?;
        let second =
            self.rt.block_on(self.store.put_opts(&key, Bytes::from_static(b"2").into(), create));
        let _ = self.rt.block_on(self.store.delete(&key));
        match second {
            Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(failed(&what, e)),
            Ok(_) => Err(VaultError::Config(format!(
                "{what} ignores conditional writes (a second If-None-Match: * PUT of one key \
                 succeeded): objects could be overwritten unseen; use a store that honours them"
            ))),
        }
    }

    fn key(&self, name: &str) -> Result<Key, VaultError> {
        super::fs::valid(name)?;
        Ok(self.dir.clone().join(name))
    }
}

impl ObjectStore for S3Objects {
    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, VaultError> {
        let key = self.key(name)?;
        Ok(Box::new(Upload {
            rt: Arc::clone(&self.rt),
            store: Arc::clone(&self.store),
            key,
            buffer: Vec::new(),
            multipart: None,
        }))
    }

    fn get(&self, name: &str) -> Result<Box<dyn Read + Send>, VaultError> {
        let key = self.key(name)?;
        let meta = self.rt.block_on(self.store.head(&key)).map_err(|e| match e {
            object_store::Error::NotFound { .. } => VaultError::Tampered(format!(
                "the object {name} recorded in the catalog is missing"
            )),
            e => failed(&format!("cannot read the object {name}"), e),
        })?;
        Ok(Box::new(Ranged {
            rt: Arc::clone(&self.rt),
            store: Arc::clone(&self.store),
            key,
            size: meta.size,
            etag: meta.e_tag,
            pos: 0,
            chunk: Bytes::new(),
        }))
    }

    fn delete(&self, name: &str) -> Result<(), VaultError> {
        let key = self.key(name)?;
        self.rt
            .block_on(self.store.delete(&key))
            .map_err(|e| failed(&format!("cannot remove the object {name}"), e))
    }

    fn modified(&self, name: &str) -> Result<std::time::SystemTime, VaultError> {
        let key = self.key(name)?;
        let meta = self
            .rt
            .block_on(self.store.head(&key))
            .map_err(|e| failed(&format!("cannot read the object {name}"), e))?;
        Ok(meta.last_modified.into())
    }

    fn list(&self) -> Result<Vec<String>, VaultError> {
        use futures_util::TryStreamExt as _;
        let listed: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.store.list(Some(&self.dir)).try_collect())
            .map_err(|e| failed("cannot list the objects", e))?;
        let mut names: Vec<String> = listed
            .into_iter()
            .filter_map(|m| m.location.filename().map(str::to_owned))
            .filter(|n| n.ends_with(".mlseal") && super::fs::valid(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// An object being uploaded: buffered until it outgrows one part, then a multipart
/// upload.
struct Upload {
    rt: Arc<Runtime>,
    store: Arc<AmazonS3>,
    key: Key,
    buffer: Vec<u8>,
    multipart: Option<WriteMultipart>,
}

fn io_failed(e: object_store::Error) -> io::Error {
    io::Error::other(e)
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.multipart.is_none() {
            if self.buffer.len() + buf.len() <= PART_SIZE {
                self.buffer.extend_from_slice(buf);
                return Ok(buf.len());
            }
            let upload =
                self.rt.block_on(self.store.put_multipart(&self.key)).map_err(io_failed)?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let _in_runtime = self.rt.enter();
            w.write(&std::mem::take(&mut self.buffer));
            self.multipart = Some(w);
        }
        if let Some(w) = self.multipart.as_mut() {
            self.rt.block_on(w.wait_for_capacity(PARTS_IN_FLIGHT)).map_err(io_failed)?;
            let _in_runtime = self.rt.enter();
            w.write(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for Upload {
    fn commit(mut self: Box<Self>) -> Result<(), VaultError> {
        let what = format!("cannot store the object {}", self.key);
        match self.multipart.take() {
            Some(w) => {
                self.rt.block_on(w.finish()).map_err(|e| failed(&what, e))?;
            }
            None => {
                // Create-only unless it replaces an object (a re-wrap).
                let exists = self.rt.block_on(self.store.head(&self.key)).is_ok();
                let mode = if exists { PutMode::Overwrite } else { PutMode::Create };
                let body = Bytes::from(std::mem::take(&mut self.buffer));
                let put = PutOptions { mode, ..PutOptions::default() };
                self.rt
                    .block_on(self.store.put_opts(&self.key, body.into(), put))
                    .map_err(|e| failed(&what, e))?;
            }
        }
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(w) = self.multipart.take() {
            // Not committed: the parts uploaded so far are discarded.
            let _ = self.rt.block_on(w.abort());
        }
    }
}

/// An object read in ranges of [`PART_SIZE`], each of the version first seen (`If-Match`
/// its entity tag: an object replaced meanwhile fails the read rather than mixing).
struct Ranged {
    rt: Arc<Runtime>,
    store: Arc<AmazonS3>,
    key: Key,
    size: u64,
    etag: Option<String>,
    pos: u64,
    chunk: Bytes,
}

impl Read for Ranged {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.chunk.is_empty() {
            if self.pos >= self.size {
                return Ok(0);
            }
            let end = (self.pos + PART_SIZE as u64).min(self.size);
            let opts = GetOptions {
                range: Some(GetRange::Bounded(self.pos..end)),
                if_match: self.etag.clone(),
                ..GetOptions::default()
            };
            self.chunk = self
                .rt
                .block_on(async { self.store.get_opts(&self.key, opts).await?.bytes().await })
                .map_err(io_failed)?;
            if self.chunk.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the object store returned an empty range",
                ));
            }
            self.pos += self.chunk.len() as u64;
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
