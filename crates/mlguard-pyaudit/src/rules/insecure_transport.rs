use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports data and models moved without encryption in transit or without checking
    /// whom they come from: TLS certificate verification turned off (`verify=False` in
    /// `requests`, `httpx`, `aiohttp`'s `ssl=False`, `ssl._create_unverified_context()`), and
    /// downloads or uploads over plain `http://` or `ftp://` (`requests`, `httpx`,
    /// `urllib.request`, `pandas.read_*`, `torch.hub`, `keras.utils.get_file`, `wget`,
    /// `ftplib.FTP`). Loopback addresses are not reported.
    ///
    /// ## Why is this bad
    /// Without TLS, or with TLS that accepts any certificate, anyone on the path can read
    /// the data (personal data included) and replace the dataset or model on its way in:
    /// a poisoned dataset or a pickled model that runs code.
    ///
    /// ## Example
    /// ```python
    /// df = pd.read_csv("http://data.example.org/users.csv")
    /// r = requests.get(MODEL_URL, verify=False)
    /// ```
    ///
    /// ## Fix
    /// Use `https://` (or `sftp://`) with certificate verification on (the default); for a
    /// private CA, pass its bundle (`verify="/path/ca.pem"`) instead of turning checks off.
    ///
    /// ## References
    /// CWE-319 (cleartext transmission), CWE-295 (improper certificate validation); bandit
    /// B501, B321, B310.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG504",
        name: "insecure-transport",
        class: FlawClass::StorageAndKeys,
        severity: Severity::Medium,
        cwe: 319,
        summary: "data or a model moved without TLS, or with certificate checks off",
        fix: "use https:// with certificate verification on; pass a CA bundle for a private CA",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &[
    "*",
    "get",
    "post",
    "put",
    "request",
    "urlopen",
    "urlretrieve",
    "read_csv",
    "read_parquet",
    "read_json",
    "read_excel",
    "read_table",
    "load_state_dict_from_url",
    "download_url_to_file",
    "get_file",
    "download",
    "FTP",
    "_create_unverified_context",
];

/// Modules whose calls move data over the network.
const NETWORK: &[&str] = &[
    "requests",
    "httpx",
    "urllib",
    "urllib3",
    "aiohttp",
    "pandas",
    "torch.hub",
    "keras.utils",
    "tensorflow.keras.utils",
    "tf.keras.utils",
    "wget",
];

/// A plain-text URL to a host other than this machine.
fn cleartext_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("http://").or_else(|| lower.strip_prefix("ftp://")) else {
        return false;
    };
    let host = rest.split(['/', ':', '?']).next().unwrap_or("");
    !(host.is_empty() || host == "localhost" || host.starts_with("127.") || host == "[::1]")
}

/// The literal text an f-string starts with, before its first `{...}`.
fn fstring_prefix(e: &ruff_python_ast::Expr) -> Option<String> {
    let ruff_python_ast::Expr::FString(f) = e else { return None };
    let part = f.value.iter().next()?;
    let ruff_python_ast::FStringPart::FString(fs) = part else {
        return match part {
            ruff_python_ast::FStringPart::Literal(l) => Some(l.value.to_string()),
            ruff_python_ast::FStringPart::FString(_) => None,
        };
    };
    match fs.elements.iter().next()? {
        ruff_python_ast::InterpolatedStringElement::Literal(l) => Some(l.value.to_string()),
        _ => None,
    }
}

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let q = call.qual.as_deref().unwrap_or(call.method);
    let network = NETWORK.iter().any(|m| q == *m || q.starts_with(&format!("{m}.")));
    if q == "ssl._create_unverified_context" {
        cx.report(
            &RULE,
            call.range(),
            "`ssl._create_unverified_context()` accepts any certificate".to_owned(),
        );
        return;
    }
    if q == "ftplib.FTP" {
        cx.report(
            &RULE,
            call.range(),
            "`ftplib.FTP` sends data and passwords in the clear (use SFTP or FTPS)".to_owned(),
        );
        return;
    }
    // `session.get(url, ssl=False)` on a client whose type is not known here (an
    // `aiohttp.ClientSession` parameter): the keyword on an HTTP verb says enough.
    let http_verb = matches!(
        call.method,
        "get" | "post" | "put" | "patch" | "delete" | "head" | "request" | "stream" | "ws_connect"
    );
    if !network && !http_verb {
        return;
    }
    for kw in ["verify", "ssl", "verify_ssl"] {
        if call.kw(kw).and_then(|v| v.truthy()) == Some(false) {
            let range = call.kw_range(kw).unwrap_or(call.range());
            cx.report(&RULE, range, format!("`{q}(..., {kw}=False)` accepts any certificate"));
            return;
        }
    }
    if !network {
        return;
    }
    let url = call
        .arg(0, "url")
        .or_else(|| call.kw("filepath_or_buffer"))
        .or_else(|| call.kw("path"))
        .or_else(|| call.kw("origin"))
        .and_then(|v| v.str());
    // `f"http://{host}/{name}.csv"`: the scheme is in the literal start.
    let prefix = call.node.arguments.args.first().and_then(fstring_prefix);
    let url = url.or(prefix.as_deref());
    // keras.utils.get_file(fname, origin): the URL is the second argument.
    let url = url
        .filter(|u| cleartext_url(u))
        .or_else(|| call.arg(1, "origin").and_then(|v| v.str()).filter(|u| cleartext_url(u)));
    if let Some(url) = url {
        cx.report(
            &RULE,
            call.range(),
            format!("`{q}` moves data over plain `{}://`", url.split(':').next().unwrap_or("http")),
        );
    }
}
