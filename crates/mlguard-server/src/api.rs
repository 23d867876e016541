//! The OpenAPI 3.1 document, generated from the API's types (`mlguard_vault::api`, and the
//! request bodies the handlers decode) by `schemars`, so it cannot drift from what the
//! server does. The types are re-exported here for the server's handlers.

pub use mlguard_vault::api::*;

use mlguard_vault::identity::Policy;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Value, json};

use crate::ROUTES;

/// `POST /v1/datasets/{name}` (multipart/form-data).
#[derive(JsonSchema)]
#[allow(dead_code, reason = "describes the multipart form for the document only")]
struct UploadForm {
    /// The Table Schema (JSON) the data is validated against.
    schema: String,
    /// The CSV (or Parquet, Feather, Excel, ...) file.
    #[schemars(extend("format" = "binary"))]
    data: String,
    /// Ingestion options as JSON (an object like `IngestBody`).
    options: Option<String>,
}

/// The schemas of a route: (request body and its media type, the success status, the
/// success body and its media type).
struct Shapes {
    request: Option<(&'static str, Value)>,
    status: &'static str,
    response: (&'static str, Option<Value>),
}

fn shapes(method: &str, path: &str, g: &mut SchemaGenerator) -> Shapes {
    let json = "application/json";
    let schema = |s: schemars::Schema| Some(s.to_value());
    let ok = |body: Option<Value>| Shapes { request: None, status: "200", response: (json, body) };
    match (method, path) {
        ("get", "/healthz") => ok(Some(json!({"type": "object"}))),
        ("get", "/metrics") => Shapes {
            request: None,
            status: "200",
            response: ("text/plain", Some(json!({"type": "string"}))),
        },
        ("get", "/openapi.json") => ok(Some(json!({"type": "object"}))),
        ("get", "/v1/datasets") => ok(schema(g.subschema_for::<DatasetList>())),
        ("post", "/v1/datasets/{name}") => {
            let _ = g.subschema_for::<IngestBody>();
            Shapes {
                request: Some(("multipart/form-data", g.subschema_for::<UploadForm>().to_value())),
                status: "201",
                response: (json, schema(g.subschema_for::<IngestResponse>())),
            }
        }
        ("get", "/v1/datasets/{name}") => ok(schema(g.subschema_for::<DatasetReport>())),
        ("get", "/v1/datasets/{name}/data") => Shapes {
            request: None,
            status: "200",
            response: ("text/csv", Some(json!({"type": "string"}))),
        },
        ("get", "/v1/models") => ok(schema(g.subschema_for::<ModelList>())),
        ("get", "/v1/models/{name}") => ok(schema(g.subschema_for::<ModelDescription>())),
        ("post", "/v1/models/train") => Shapes {
            request: Some((json, g.subschema_for::<TrainBody>().to_value())),
            status: "201",
            response: (json, schema(g.subschema_for::<TrainResponse>())),
        },
        ("post", "/v1/models/{name}/predict") => Shapes {
            request: Some((json, g.subschema_for::<PredictRequest>().to_value())),
            status: "200",
            response: (json, schema(g.subschema_for::<PredictResponse>())),
        },
        ("post", "/v1/models/{name}/import") => Shapes {
            request: Some((
                "application/octet-stream",
                json!({"type": "string", "contentMediaType": "application/octet-stream"}),
            )),
            status: "201",
            response: (json, schema(g.subschema_for::<ModelDescription>())),
        },
        ("post", "/v1/models/{name}/export") => Shapes {
            request: None,
            status: "200",
            response: ("application/octet-stream", Some(json!({"type": "string"}))),
        },
        ("get", "/v1/audit/entries") => Shapes {
            request: None,
            status: "200",
            response: ("application/jsonl", Some(json!({"type": "string"}))),
        },
        ("get", "/v1/audit/checkpoint") => Shapes {
            request: None,
            status: "200",
            response: ("text/plain", Some(json!({"type": "string"}))),
        },
        ("post", "/v1/audit/verify") => ok(schema(g.subschema_for::<AuditVerifyResponse>())),
        ("get", "/v1/admin/users") => ok(schema(g.subschema_for::<UserList>())),
        ("post", "/v1/admin/users") => Shapes {
            request: Some((json, g.subschema_for::<NewUser>().to_value())),
            status: "201",
            response: (json, schema(g.subschema_for::<UserAdded>())),
        },
        ("post", "/v1/admin/users/{name}/mfa") => Shapes {
            request: Some((json, g.subschema_for::<EnrollMfa>().to_value())),
            status: "201",
            response: (json, schema(g.subschema_for::<MfaEnrolled>())),
        },
        ("get", "/v1/admin/tokens") => ok(schema(g.subschema_for::<TokenList>())),
        ("post", "/v1/admin/tokens") => Shapes {
            request: Some((json, g.subschema_for::<NewToken>().to_value())),
            status: "201",
            response: (json, schema(g.subschema_for::<TokenCreated>())),
        },
        ("post", "/v1/admin/users/{name}/disable") => ok(schema(g.subschema_for::<UserDisabled>())),
        ("delete", "/v1/admin/tokens/{id}") => ok(schema(g.subschema_for::<TokenRevoked>())),
        ("get", "/v1/admin/roles") => ok(schema(g.subschema_for::<Policy>())),
        ("put", "/v1/admin/roles") => Shapes {
            request: Some((json, g.subschema_for::<Policy>().to_value())),
            status: "200",
            response: (json, Some(json!({"type": "object"}))),
        },
        _ => ok(Some(json!({"type": "object"}))),
    }
}

/// The parameters of a route: its path parameters (every `{name}` of the path) and its
/// query parameters.
fn parameters(path: &str) -> Vec<Value> {
    let mut params: Vec<Value> = path
        .split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(name, _)| name))
        .map(|name| {
            let schema = if name == "index" {
                json!({"type": "integer", "minimum": 0})
            } else {
                json!({"type": "string", "minLength": 1})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    let from = |required: bool| {
        json!({"name": "from", "in": "query", "required": required,
               "schema": {"type": "integer", "minimum": 0}})
    };
    match path {
        "/v1/audit/entries" => params.push(from(false)),
        "/v1/audit/consistency" => params.push(from(true)),
        "/v1/models/{name}/import" => {
            params.push(json!({"name": "dataset", "in": "query", "required": true,
                "description": "the stored dataset version it was trained on: NAME or NAME@VERSION",
                "schema": {"type": "string", "minLength": 1}}));
            params.push(json!({"name": "accept_flagged", "in": "query", "required": false,
                "description": "bind it to a version its poisoning checks flagged (recorded)",
                "schema": {"type": "boolean"}}));
        }
        _ => {}
    }
    params
}

/// The OpenAPI 3.1 document of every route of [`ROUTES`].
pub fn openapi_document() -> Value {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let error_ref = g.subschema_for::<ErrorBody>().to_value();
    let error = |what: &str| json!({"description": what, "content": {"application/json": {"schema": error_ref}}});
    let mut paths = serde_json::Map::new();
    for (method, path, action, summary) in ROUTES {
        let s = shapes(method, path, &mut g);
        let (media, body) = s.response;
        let mut success = json!({"description": "OK"});
        if let Some(body) = body {
            success["content"] = json!({ media: {"schema": body} });
        }
        let mut responses = serde_json::Map::new();
        responses.insert(s.status.into(), success);
        let mut op = json!({
            "operationId": format!("{method}{}", path.replace(['/', '{', '}', '.'], "_")),
            "summary": summary,
        });
        let mut params = parameters(path);
        if let Some(action) = action {
            op["x-mlguard-action"] = action.as_str().into();
            op["security"] = json!([{"bearer": []}]);
            params.push(json!({
                "name": "X-MLGuard-TOTP", "in": "header", "required": false,
                "description": "a fresh TOTP code, for actions the policy protects with one",
                "schema": {"type": "string", "pattern": "^[0-9]{6}$"}
            }));
            for (code, what) in [
                ("400", "the request is malformed"),
                ("401", "no valid token, or a TOTP code needed or wrong"),
                ("403", "the role may not do this"),
                ("404", "no such dataset, model, user, token or entry"),
                ("409", "another writer stored the same version first: try again"),
                ("413", "the body is too large"),
                ("422", "refused: invalid or poisoned data, or a refused change"),
                ("429", "second factor locked after repeated failures"),
                ("500", "an internal or integrity failure (the X-Request-Id header names it)"),
                ("503", "the audit log cannot be written: nothing was done"),
            ] {
                responses.insert(code.into(), error(what));
            }
        } else {
            op["security"] = json!([]);
        }
        if !params.is_empty() {
            op["parameters"] = params.into();
        }
        if let Some((media, schema)) = s.request {
            op["requestBody"] = json!({"required": true, "content": { media: {"schema": schema} }});
        }
        if *path == "/v1/models/{name}/export" {
            // With a body, a signed export as JSON; without one, the bare safetensors.
            let request = g.subschema_for::<ExportRequest>().to_value();
            op["requestBody"] =
                json!({"required": false, "content": {"application/json": {"schema": request}}});
            let signed = g.subschema_for::<ModelExport>().to_value();
            if let Some(ok) = responses.get_mut("200") {
                ok["content"]["application/json"] = json!({"schema": signed});
            }
        }
        op["responses"] = responses.into();
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "mlguard", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": g.take_definitions(true),
        },
        "paths": paths,
    })
}
