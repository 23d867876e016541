//! Scanning model files: format recognised by content, findings per import and per problem.

use mlguard_findings::{Finding, Location, Severity};

use crate::archive;
use crate::classify::Class;
use crate::compressed::{self, Codec};
use crate::pickle::{Analysis, IssueKind, LegacyMember, analyze, analyze_legacy};

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Extra imports to treat as safe (`module.name` or a module prefix); never overrides
    /// the dangerous list.
    pub allow: Vec<String>,
}

/// A file's format, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A pickle stream (protocol 2+ starts with PROTO; protocols 0/1 with a plausible opcode).
    Pickle,
    /// A zip archive (PyTorch, `.npz`, `.keras`).
    Zip,
    /// A NumPy `.npy` array.
    Npy,
    /// A tar archive (legacy `torch.save`).
    Tar,
    /// A 7-Zip archive.
    SevenZip,
    /// A compressed stream (how joblib compresses): its content is scanned.
    Compressed(Codec),
    /// A safetensors file (an 8-byte header length, then a JSON header).
    Safetensors,
    /// Anything else.
    Other,
}

/// Recognises a format by its magic bytes.
pub fn detect(data: &[u8]) -> Format {
    match data {
        [0x80, p, ..] if *p <= 5 => Format::Pickle,
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Format::Zip,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => Format::Npy,
        [b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C, ..] => Format::SevenZip,
        _ if archive::is_tar(data) => Format::Tar,
        [a, b, c, d, e, f, g, h, b'{', ..]
            if u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h])
                <= (data.len() as u64).saturating_sub(8) =>
        {
            Format::Safetensors
        }
        _ if Codec::detect(data).is_some() => {
            Codec::detect(data).map_or(Format::Other, Format::Compressed)
        }
        // Protocol 0/1 pickles have no magic: a plausible first opcode, and a parse that
        // reaches a STOP or an import (junk after STOP is allowed: it is a finding).
        [first, ..]
            if b"(c}])NIKSVXldiFGJLMTUap".contains(first) && {
                let a = analyze(data, &[]);
                a.pickles > 0 || !a.imports.is_empty()
            } =>
        {
            Format::Pickle
        }
        _ => Format::Other,
    }
}

/// The first pickle of a legacy (pre-1.6) `torch.save` file: protocol 2, the magic number
/// 0x1950a86a20f9469cfc6c as LONG1, STOP.
const LEGACY_TORCH_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e";
/// The second pickle of a legacy `torch.save` file: the protocol version 1001, which
/// `torch.load` insists on.
const LEGACY_TORCH_PROTOCOL: &[u8] = b"\x80\x02M\xe9\x03.";

/// Whether `data` starts like a legacy (pre-1.6, non-tar) `torch.save` file: after its
/// five pickles come raw tensor storages, which the loader reads as data, not opcodes.
pub fn legacy_torch_layout(data: &[u8]) -> bool {
    data.strip_prefix(LEGACY_TORCH_MAGIC)
        .is_some_and(|rest| rest.starts_with(LEGACY_TORCH_PROTOCOL))
}

/// Scans a file's bytes; `file` names it in locations.
pub fn scan_bytes(file: &str, data: &[u8], opts: &ScanOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut budget = archive::MAX_TOTAL_BYTES;
    scan_content(file, data, opts, 0, &mut budget, &mut findings);
    findings
}

fn scan_content(
    file: &str,
    data: &[u8],
    opts: &ScanOptions,
    depth: usize,
    budget: &mut u64,
    findings: &mut Vec<Finding>,
) {
    let loc = || Location::file(file.to_owned());
    if depth > archive::MAX_DEPTH {
        findings.push(archive::container_finding(
            file,
            "model.archive.too-deep",
            Severity::Medium,
            format!("nested more than {} containers deep: not inspected", archive::MAX_DEPTH),
        ));
        return;
    }
    match detect(data) {
        Format::Pickle => {
            let a = analyze(data, &opts.allow);
            // Legacy torch.save: magic, protocol, system info, the model and the storage
            // keys are five pickles, followed by the raw tensor storages. That layout is
            // expected; every pickle was still analysed.
            let expected: &[&str] = if legacy_torch_layout(data) && a.pickles >= 5 {
                &["model.pickle.concatenated", "model.pickle.junk-after-stop"]
            } else {
                &[]
            };
            layout_findings(file, &a, expected, findings);
        }
        Format::Zip => {
            let (members, problems) = archive::members(data);
            malformed(file, "zip", problems, findings);
            for m in &members {
                let name = format!("{file}:{}", m.name);
                match archive::extract(data, m, budget) {
                    Ok(bytes) if m.name.ends_with("config.json") => {
                        keras_config(&name, &bytes, opts, findings)
                    }
                    Ok(bytes) => scan_content(&name, &bytes, opts, depth + 1, budget, findings),
                    Err(e) if m.flags & 1 != 0 => findings.push(archive::container_finding(
                        &name,
                        "model.archive.encrypted",
                        Severity::Low,
                        format!("encrypted member could not be inspected ({e})"),
                    )),
                    Err(e) => findings.push(archive::container_finding(
                        &name,
                        "model.archive.not-inspected",
                        Severity::Medium,
                        e,
                    )),
                }
            }
        }
        Format::Tar => {
            let (members, problems) = archive::tar_members(data);
            malformed(file, "tar", problems, findings);
            // Legacy torch.save: `storages` and `tensors` interleave pickles and raw data.
            let legacy = members.iter().any(|(n, _)| n == "sys_info")
                && members.iter().any(|(n, _)| n == "pickle");
            for (member, bytes) in members {
                let name = format!("{file}:{member}");
                let kind = match member.as_str() {
                    "storages" if legacy => Some(LegacyMember::Storages),
                    "tensors" if legacy => Some(LegacyMember::Tensors),
                    _ => None,
                };
                match kind {
                    // One pickle per record is the layout, not a concatenation.
                    Some(kind) => layout_findings(
                        &name,
                        &analyze_legacy(bytes, &opts.allow, kind),
                        &["model.pickle.concatenated"],
                        findings,
                    ),
                    None => scan_content(&name, bytes, opts, depth + 1, budget, findings),
                }
            }
        }
        Format::Compressed(codec) => match compressed::decompress(codec, data, budget) {
            Ok(inner) => {
                let name = format!("{file}:{}", codec.name());
                scan_content(&name, &inner, opts, depth + 1, budget, findings);
            }
            Err(e) => findings.push(archive::container_finding(
                file,
                "model.compressed.not-inspected",
                Severity::Medium,
                e,
            )),
        },
        Format::Safetensors => match mlguard_safetensors::read(data) {
            Ok(f) => findings.push(archive::container_finding(
                file,
                "model.safetensors.ok",
                Severity::Info,
                format!(
                    "safetensors with {} tensors: a strict header and no code",
                    f.tensors.len()
                ),
            )),
            Err(e) => findings.push(archive::container_finding(
                file,
                "model.safetensors.invalid",
                Severity::Medium,
                format!("safetensors: {e}"),
            )),
        },
        Format::Npy => match archive::npy_pickle(data) {
            Ok(Some((offset, pickle))) => {
                let a = analyze(pickle, &opts.allow);
                pickle_findings(
                    file,
                    &a,
                    &format!(", in the object array's pickle at byte {offset}"),
                    findings,
                );
            }
            Ok(None) => {}
            Err(e) => findings.push(archive::container_finding(
                file,
                "model.npy.malformed",
                Severity::Medium,
                e,
            )),
        },
        Format::Other => findings.push(
            Finding::new(
                "model.format.not-a-model",
                Severity::Info,
                "not a pickle, PyTorch, NumPy, joblib, Keras or safetensors file: nothing to scan",
            )
            .at(loc()),
        ),
        Format::SevenZip => findings.push(
            Finding::new(
                "model.format.not-inspected",
                Severity::Medium,
                "7-Zip archives are not opened by this version: extract it and scan the \
                 members; until then treat it as unverified",
            )
            .at(loc()),
        ),
    }
}

/// What a container walker could not read cleanly: low-severity findings (its members are
/// still scanned).
fn malformed(file: &str, container: &str, problems: Vec<String>, findings: &mut Vec<Finding>) {
    for p in problems {
        findings.push(archive::container_finding(
            file,
            "model.archive.malformed",
            Severity::Low,
            format!("{container}: {p}"),
        ));
    }
}

/// A Keras model config (`config.json` in a `.keras` archive): `Lambda` layers carry
/// Python code that runs when the model is loaded; custom objects come from modules
/// outside Keras and are reported for a person to judge (`--allow module` clears them).
fn keras_config(file: &str, bytes: &[u8], opts: &ScanOptions, out: &mut Vec<Finding>) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else { return };
    let mut stack = vec![&json];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(m) => {
                let class = m.get("class_name").and_then(|c| c.as_str()).unwrap_or("");
                let module = m.get("module").and_then(|c| c.as_str()).unwrap_or("");
                if class == "Lambda"
                    || class == "TFOpLambda"
                        && m.get("config").is_some_and(|c| c.get("function").is_some())
                {
                    let layer = m
                        .get("config")
                        .and_then(|c| c.get("name"))
                        .and_then(|n| n.as_str())
                        .unwrap_or("?");
                    out.push(
                        Finding::new("model.keras.lambda", Severity::High, format!("Lambda layer {layer:?}: its Python code runs when the model is loaded"))
                            .at(Location::file(file.to_owned()))
                            .with_value(class),
                    );
                } else if !module.is_empty()
                    && !module.starts_with("keras")
                    && !opts
                        .allow
                        .iter()
                        .any(|a| module == a || module.starts_with(&format!("{a}.")))
                {
                    out.push(
                        Finding::new("model.keras.custom-object", Severity::Medium, format!("custom object {class} from module {module}: its code runs when the model is loaded"))
                            .at(Location::file(file.to_owned()))
                            .with_value(format!("{module}.{class}")),
                    );
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
}

/// A pickle's findings, less the `expected` checks that a known file layout explains.
fn layout_findings(file: &str, a: &Analysis, expected: &[&str], out: &mut Vec<Finding>) {
    let mut own = Vec::new();
    pickle_findings(file, a, "", &mut own);
    out.extend(own.into_iter().filter(|f| !expected.contains(&f.check.as_str())));
}

fn pickle_findings(file: &str, a: &Analysis, context: &str, out: &mut Vec<Finding>) {
    for imp in &a.imports {
        let callable = format!("{}.{}", imp.module, imp.name);
        let (check, severity, what) = match (imp.class, imp.called) {
            (Class::Dangerous, true) => {
                ("model.pickle.dangerous-call", Severity::Critical, "calls")
            }
            (Class::Dangerous, false) => {
                ("model.pickle.dangerous-import", Severity::High, "imports")
            }
            (Class::Unknown, _) => (
                "model.pickle.unknown-import",
                Severity::Medium,
                if imp.called { "calls" } else { "imports" },
            ),
            (Class::Safe, _) => continue,
        };
        out.push(
            Finding::new(
                check,
                severity,
                format!("{what} {callable} ({} at byte {}{context})", imp.opcode, imp.offset),
            )
            .at(Location::file(file.to_owned()).offset(imp.offset))
            .with_value(callable),
        );
    }
    for issue in &a.issues {
        let (check, message) = match &issue.kind {
            IssueKind::Truncated => (
                "model.pickle.truncated",
                "the pickle ends before STOP: the rest of the file could not be read".to_owned(),
            ),
            IssueKind::UnknownOpcode(b) => (
                "model.pickle.unknown-opcode",
                format!("byte 0x{b:02x} is not a pickle opcode: the rest could not be read"),
            ),
            IssueKind::StackUnderflow(op) => {
                ("model.pickle.malformed", format!("{op} with too little on the stack"))
            }
            IssueKind::MissingMemo(i) => {
                ("model.pickle.malformed", format!("memo entry {i} is read before it is written"))
            }
            IssueKind::BadArgument(what) => {
                ("model.pickle.malformed", format!("malformed argument: {what}"))
            }
            IssueKind::UnresolvedGlobal => (
                "model.pickle.unresolved-global",
                "STACK_GLOBAL on values that are not strings: the callable cannot be resolved"
                    .to_owned(),
            ),
            IssueKind::Extension(code) => (
                "model.pickle.extension",
                format!("extension registry code {code}: resolved by the loader's copyreg table"),
            ),
            IssueKind::JunkAfterStop(n) => (
                "model.pickle.junk-after-stop",
                format!("{n} bytes after the last STOP that are not a pickle"),
            ),
            IssueKind::Limit(what) => {
                ("model.pickle.limit", format!("{what} limit reached: the rest was not analysed"))
            }
            IssueKind::NotLoadable => (
                "model.pickle.not-loadable",
                "a GLOBAL name that is not UTF-8: Python's loader stops here, nothing after it can run".to_owned(),
            ),
        };
        let severity =
            if issue.kind == IssueKind::NotLoadable { Severity::Low } else { Severity::Medium };
        out.push(
            Finding::new(check, severity, format!("{message}{context}"))
                .at(Location::file(file.to_owned()).offset(issue.offset)),
        );
    }
    if a.pickles > 1 {
        out.push(
            Finding::new(
                "model.pickle.concatenated",
                Severity::Medium,
                format!("{} pickles concatenated (all were scanned){context}", a.pickles),
            )
            .at(Location::file(file.to_owned())),
        );
    }
    for (offset, nested) in &a.nested {
        pickle_findings(
            file,
            nested,
            &format!(", in a pickle nested at byte {offset}{context}"),
            out,
        );
    }
}
