//! Datasets over HTTP: streaming upload into ingestion, metadata, and download.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{Field, Multipart};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mlguard_vault::api::{IngestBody, IngestResponse};
use mlguard_vault::store::Scratch;
use mlguard_vault::{IngestOptions, IngestSource};

use crate::{AppState, blocking, blocking_value, bulk, error, stopped};

/// Largest dataset upload (the CSV part).
pub const MAX_UPLOAD_BYTES: usize = 16 << 30;
/// Most of a refused upload read (and dropped) before the refusal is sent.
const DISCARD_BYTES: usize = 8 << 20;
/// Largest schema or options part of an upload.
const MAX_PART_BYTES: usize = 1 << 20;

/// Reads a small part whole, refusing more than [`MAX_PART_BYTES`].
async fn small_part(mut field: Field<'_>) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| e.body_text())? {
        if buf.len() + chunk.len() > MAX_PART_BYTES {
            return Err(format!("a schema or options part is limited to {MAX_PART_BYTES} bytes"));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// What an upload brought: the schema, the options, and the table in an encrypted scratch
/// file.
struct Upload {
    schema: mlguard_data::Schema,
    options: IngestOptions,
    file: Scratch,
}

/// Streams the parts of an upload: the table goes to `file`, encrypted under a key that
/// dies with this process, chunk by chunk, never whole into memory nor on disk in clear.
async fn receive(
    multipart: &mut Multipart,
    mut file: Scratch,
) -> Result<Upload, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let internal =
        |e: mlguard_vault::VaultError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let mut schema = None;
    let mut options = IngestBody::default();
    let mut data = false;
    let mut source = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| bad(e.body_text()))? {
        match field.name().unwrap_or_default() {
            "schema" => {
                let bytes = small_part(field).await.map_err(bad)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| bad("the schema part is not UTF-8".into()))?;
                schema = Some(
                    mlguard_data::Schema::from_json_str(&text)
                        .map_err(|e| bad(format!("the schema part: {e}")))?,
                );
            }
            "options" => {
                let bytes = small_part(field).await.map_err(bad)?;
                options = serde_json::from_slice(&bytes)
                    .map_err(|e| bad(format!("the options part: {e}")))?;
            }
            "data" if data => return Err(bad("the upload has two `data` parts".into())),
            "data" => {
                // Reports name the file the client sent (its part's file name, escaped when
                // printed like any untrusted text), never the server's scratch file.
                source = Some(field.file_name().unwrap_or("upload").to_owned());
                // Encrypting and writing are blocking bulk work: on a thread of their own at
                // the lowest priority, fed chunk by chunk (a few in flight).
                let mut w = file.writer().map_err(internal)?;
                let (tx, mut rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(4);
                let writing = bulk(move || {
                    use std::io::Write;
                    while let Some(chunk) = rx.blocking_recv() {
                        w.write_all(&chunk).map_err(|source| mlguard_vault::VaultError::Io {
                            context: "cannot write an upload".into(),
                            source,
                        })?;
                    }
                    w.finish()
                });
                let received = async {
                    while let Some(chunk) = field.chunk().await.map_err(|e| {
                        let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                            StatusCode::PAYLOAD_TOO_LARGE
                        } else {
                            StatusCode::BAD_REQUEST
                        };
                        (status, e.body_text())
                    })? {
                        if tx.send(chunk).await.is_err() {
                            break;
                        }
                    }
                    Ok(())
                }
                .await;
                drop(tx);
                let written = writing.await.ok_or_else(|| {
                    (StatusCode::INTERNAL_SERVER_ERROR, "the upload's writer stopped".to_owned())
                })?;
                received?;
                written.map_err(internal)?;
                data = true;
            }
            other => {
                return Err(bad(format!(
                    "unexpected part {other:?}: an upload has `schema`, `data` and optionally `options`"
                )));
            }
        }
    }
    let schema = schema.ok_or_else(|| bad("the upload has no `schema` part".into()))?;
    if !data {
        return Err(bad("the upload has no `data` part".into()));
    }
    let mut options = options.to_options().map_err(|e| bad(e.to_string()))?;
    options.source = source;
    Ok(Upload { schema, options, file })
}

/// `POST /v1/datasets/{name}`: authorised before the body is read, streamed into an
/// owner-only scratch file inside the vault, encrypted, then ingested (validate, protect, check,
/// seal) as the next version. A failed upload is recorded as a failed ingest.
pub(crate) async fn upload(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    const ROUTE: &str = "/v1/datasets/{name}";
    let (st, n) = (Arc::clone(&s), name.clone());
    let headers = request.headers().clone();
    let allowed = blocking_value(move || {
        st.allow(ROUTE, &headers, |v, cx| {
            v.allow_ingest(cx, &n)?;
            v.sealed_scratch("upload")
        })
    })
    .await;
    let (cx, file) = match allowed {
        Some(Ok(x)) => x,
        Some(Err(r)) => {
            discard(request.into_body()).await;
            return r;
        }
        None => return stopped(),
    };
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let received = receive(&mut multipart, file).await;
    // Validating, protecting, checking and sealing a table is bulk work: at the lowest
    // priority, beside the requests being served.
    bulk(move || {
        s.as_allowed(ROUTE, &cx, |v, cx| {
            let up = match received {
                Ok(up) => up,
                Err((status, why)) => {
                    v.ingest_abandoned(cx, &name, &why)?;
                    return Ok(error(status, "bad_upload", why));
                }
            };
            match v.ingest_from(cx, &IngestSource::Sealed(&up.file), &up.schema, &name, &up.options)
            {
                Ok(d) => {
                    Ok((StatusCode::CREATED, axum::Json(IngestResponse::from(&d))).into_response())
                }
                Err(e) => Err(e),
            }
        })
    })
    .await
    .unwrap_or_else(stopped)
}

/// Reads and drops up to [`DISCARD_BYTES`] of a refused upload's body (for up to 5 s), so
/// that a client still sending it reads the refusal instead of a broken connection; a
/// larger body is cut off.
async fn discard(body: Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut seen = 0usize;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > DISCARD_BYTES {
                break;
            }
        }
    })
    .await;
}

/// `GET /v1/datasets/{name}`: a version's record, schema and ingestion report.
pub(crate) async fn metadata(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.call("/v1/datasets/{name}", &headers, |v, cx| {
            let doc: crate::api::DatasetReport = v.dataset(cx, &name)?.into();
            Ok(axum::Json(doc).into_response())
        })
    })
    .await
}

/// `GET /v1/datasets/{name}/data`: the CSV of a version, verified completely before a
/// byte is sent. A version that kept personal data (`--keep-pii`) is raw data: it needs
/// `dataset.read-raw` (with a TOTP code under the default policy) instead of
/// `dataset.read`.
pub(crate) async fn download(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    const ROUTE: &str = "/v1/datasets/{name}/data";
    let st = Arc::clone(&s);
    // Verifying and decrypting a whole table is bulk work (see `bulk`).
    let scratch = bulk(move || {
        let mut file = None;
        let response = st.call(ROUTE, &headers, |v, cx| {
            let (d, f) = v.download_dataset(cx, &name)?;
            file = Some((f, d.size, d.rows, format!("{}@{}", d.name, d.version)));
            Ok(StatusCode::OK.into_response())
        });
        (response, file)
    })
    .await;
    let (mut response, file) = match scratch {
        Some(x) => x,
        None => return stopped(),
    };
    let Some((file, size, rows, version)) = file.filter(|_| response.status() == StatusCode::OK)
    else {
        return response;
    };
    *response.body_mut() = stream_file(file);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_LENGTH, size.into());
    h.insert(header::CONTENT_DISPOSITION, attachment(&version.replace('@', "-"), "csv"));
    // Which version this is and its rows, for clients to say what they wrote.
    if let Ok(v) = header::HeaderValue::from_str(&version) {
        h.insert(mlguard_vault::api::DATASET_HEADER, v);
    }
    h.insert(mlguard_vault::api::ROWS_HEADER, rows.into());
    response
}

/// A `Content-Disposition` naming a download `stem.ext` (characters other than letters,
/// digits, `-`, `_` and `.` replaced: the name is the vault's, not the browser's).
pub(crate) fn attachment(stem: &str, ext: &str) -> header::HeaderValue {
    let safe: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    header::HeaderValue::from_str(&format!("attachment; filename=\"{safe}.{ext}\""))
        .unwrap_or_else(|_| header::HeaderValue::from_static("attachment"))
}

/// A response body read from `file` in 256 KiB chunks on a blocking thread; the file (a
/// scratch file of plaintext) is removed when the body ends or the client goes away.
pub(crate) fn stream_file(file: Scratch) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        let mut f = match file.reader() {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(Ok(buf[..n].to_vec())).is_err() {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
        drop(file);
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}
