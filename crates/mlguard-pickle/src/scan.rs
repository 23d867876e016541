//! Scanning model files: format recognised by content, findings per import and per problem.

use mlguard_findings::{Finding, Location, Severity};

use crate::archive;
use crate::classify::{Class, dotted_identifier};
use crate::compressed::{self, Codec};
use crate::keras::{self, keras_config};
use crate::pickle::{Analysis, IssueKind, LegacyMember, analyze, analyze_legacy};
use crate::zip::{self, Seen};

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Extra imports to treat as safe: exact `module.name`s and `module.*` patterns (that
    /// module and its submodules; see [`check_allow`]). Never overrides the dangerous list.
    pub allow: Vec<String>,
    /// Also report, at low severity, files that are not models (text, unknown formats).
    pub verbose: bool,
}

/// File name extensions of model formats: such a file whose content is not recognised is
/// a finding (a loader may still read it), where any other unrecognised file is not.
pub const MODEL_EXTENSIONS: &[&str] = &[
    "h5",
    "hdf5",
    "pkl",
    "pickle",
    "p",
    "pt",
    "pth",
    "ckpt",
    "joblib",
    "npy",
    "npz",
    "keras",
    "sav",
    "dill",
    "mar",
    "safetensors",
];

/// Checks an `--allow` pattern: an exact dotted name (`mylib.models.Net`) or a module
/// pattern (`mylib.*`), made of Python identifiers. `Err` says what is wrong.
pub fn check_allow(pattern: &str) -> Result<(), String> {
    let body = pattern.strip_suffix(".*").unwrap_or(pattern);
    if body.is_empty() {
        return Err(format!(
            "{pattern:?} would allow every import: name a module, as in `mylib.*`"
        ));
    }
    for part in body.split('.') {
        if !dotted_identifier(part) {
            return Err(format!(
                "{pattern:?} is not a dotted name (`module.name`) or a module pattern (`module.*`): {part:?} is not a Python identifier"
            ));
        }
    }
    if !pattern.ends_with(".*") && !body.contains('.') {
        return Err(format!(
            "{pattern:?} names a module, not an import: write `{pattern}.*` to allow everything it holds, or `{pattern}.Name` for one name"
        ));
    }
    Ok(())
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
    /// An HDF5 file (a legacy Keras `.h5` model, or weights).
    Hdf5,
    /// UTF-8 text that does not parse as a pickle (source code, CSV, JSON...).
    Text,
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
        _ if data.starts_with(keras::HDF5_MAGIC) => Format::Hdf5,
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
        [first, ..] if crate::pickle::is_opcode(*first) && reads_as_pickle(data) => Format::Pickle,
        _ if std::str::from_utf8(data).is_ok() => Format::Text,
        _ => Format::Other,
    }
}

/// Protocol 0/1 pickles have no magic: whether `data`, read as one, reaches a `STOP`
/// without a problem before it (junk after it is allowed: that is a finding), or an import
/// a loader could make — a name that is a dotted Python identifier, here or in a pickle the
/// loader reads along (a joblib object array) — which it makes, and may call, before it
/// fails. Text is not a pickle: `import os` starts with the INST opcode, but `mport os` is
/// no module.
fn reads_as_pickle(data: &[u8]) -> bool {
    fn importable(a: &Analysis) -> bool {
        a.imports.iter().any(|i| {
            i.class == Class::Dangerous
                || (dotted_identifier(&i.module) && dotted_identifier(&i.name))
        }) || a.nested.iter().any(|(_, n)| importable(n))
    }
    let a = analyze(data, &[]);
    let clean_stop = a.first_stop.is_some_and(|stop| a.issues.iter().all(|i| i.offset > stop));
    clean_stop || importable(&a)
}

/// Whether bytes held in a pickle could be a file a loader opens: they start with the
/// magic of a pickle (protocol 2+), zip, `.npy`, tar, 7-Zip or a compressed stream with
/// a distinctive magic, or a protocol 0/1 opcode. Such payloads are scanned like files.
pub(crate) fn may_be_file(data: &[u8]) -> bool {
    match data {
        [0x80, 2..=5, _, ..] | [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => true,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] | [b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C, ..] => true,
        [0x1f, 0x8b, 8, ..] | [b'B', b'Z', b'h', b'1'..=b'9', 0x31, 0x41, 0x59, ..] => true,
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] | [0x04, 0x22, 0x4d, 0x18, ..] => true,
        [b'c' | b'(' | b'}' | b']', _, ..] => data.len() > 4,
        _ => archive::is_tar(data),
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
    let mut ctx = Ctx { opts, budget: archive::MAX_TOTAL_BYTES };
    ctx.scan(file, data, 0, Origin::File, &mut findings);
    findings
}

/// What is being scanned, which decides what an unrecognised or odd input means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A file named on the command line (or found in a directory).
    File,
    /// A member of an archive or a decompressed stream.
    Member,
    /// A zip member of a PyTorch checkpoint's layout (`*/data.pkl`): persistent IDs are how
    /// it names its storages.
    TorchPickle,
    /// Bytes held inside a pickle: scanned like a file when they look like one; when they
    /// turn out to be plain data, nothing is said.
    Payload,
}

struct Ctx<'o> {
    opts: &'o ScanOptions,
    /// Bytes still allowed to be decompressed (all members and levels together).
    budget: u64,
}

impl Ctx<'_> {
    fn scan(
        &mut self,
        file: &str,
        data: &[u8],
        depth: usize,
        origin: Origin,
        out: &mut Vec<Finding>,
    ) {
        if origin == Origin::Payload {
            // Plain data that merely starts like a file: keep what was found only when it
            // is about code (an import, a Keras layer), not about malformed "containers".
            let mut own = Vec::new();
            self.scan_content(file, data, depth, origin, &mut own);
            let about_code = |f: &Finding| {
                f.severity >= Severity::Medium
                    && (f.check.ends_with("-import")
                        || f.check.ends_with("-call")
                        || f.check.starts_with("model.keras."))
            };
            if own.iter().any(about_code) {
                out.extend(own);
            }
            return;
        }
        self.scan_content(file, data, depth, origin, out);
    }

    fn scan_content(
        &mut self,
        file: &str,
        data: &[u8],
        depth: usize,
        origin: Origin,
        out: &mut Vec<Finding>,
    ) {
        let loc = || Location::file(file.to_owned());
        if depth > archive::MAX_DEPTH {
            out.push(archive::container_finding(
                file,
                "model.archive.too-deep",
                Severity::Medium,
                format!("nested more than {} containers deep: not inspected", archive::MAX_DEPTH),
            ));
            return;
        }
        match detect(data) {
            Format::Pickle => {
                let a = analyze(data, &self.opts.allow);
                // Legacy torch.save: magic, protocol, system info, the model and the storage
                // keys are five pickles, followed by the raw tensor storages. That layout is
                // expected; every pickle was still analysed.
                let legacy = legacy_torch_layout(data) && a.pickles >= 5;
                let expected: &[&str] = if legacy {
                    &["model.pickle.concatenated", "model.pickle.junk-after-stop"]
                } else {
                    &[]
                };
                let torch = legacy || origin == Origin::TorchPickle;
                let before = out.len();
                self.pickle_report(file, data, &a, expected, torch, depth, out);
                // After the legacy magic, torch.load reads on: what follows is not ignored.
                if data.starts_with(LEGACY_TORCH_MAGIC) && !legacy {
                    for f in &mut out[before..] {
                        if f.check == "model.pickle.junk-after-stop" {
                            f.severity = Severity::Medium;
                        }
                    }
                }
            }
            Format::Zip => self.zip(file, data, depth, out),
            Format::Tar => {
                self.also_as_pickle(file, data, depth, out);
                let (members, problems) = archive::tar_members(data);
                malformed(file, "tar", problems, out);
                // Legacy torch.save: `storages` and `tensors` interleave pickles and raw data.
                // torch's legacy_load reads `storages`, `tensors` and `pickle` (never
                // `sys_info`).
                let has = |name: &str| members.iter().any(|(n, _)| n == name);
                let legacy = has("pickle") && (has("storages") || has("tensors"));
                for (member, bytes) in members {
                    let name = format!("{file}:{member}");
                    let kind = match member.as_str() {
                        "storages" if legacy => Some(LegacyMember::Storages),
                        "tensors" if legacy => Some(LegacyMember::Tensors),
                        _ => None,
                    };
                    match kind {
                        // One pickle per record is the layout, not a concatenation.
                        Some(kind) => {
                            let a = analyze_legacy(bytes, &self.opts.allow, kind);
                            self.pickle_report(
                                &name,
                                bytes,
                                &a,
                                &["model.pickle.concatenated"],
                                true,
                                depth,
                                out,
                            );
                        }
                        None => {
                            let origin = if legacy { Origin::TorchPickle } else { Origin::Member };
                            self.scan(&name, bytes, depth + 1, origin, out)
                        }
                    }
                }
            }
            Format::Compressed(codec) => {
                self.also_as_pickle(file, data, depth, out);
                match compressed::decompress(codec, data, &mut self.budget) {
                    Ok(inner) => {
                        let name = format!("{file}:{}", codec.name());
                        self.scan(&name, &inner, depth + 1, Origin::Member, out);
                    }
                    Err(e) => out.push(archive::container_finding(
                        file,
                        "model.compressed.not-inspected",
                        Severity::Medium,
                        e,
                    )),
                }
            }
            Format::Safetensors => {
                self.also_as_pickle(file, data, depth, out);
                match mlguard_safetensors::read(data) {
                    Ok(f) => out.push(archive::container_finding(
                        file,
                        "model.safetensors.ok",
                        Severity::Info,
                        format!(
                            "safetensors with {} tensors: a strict header and no code",
                            f.tensors.len()
                        ),
                    )),
                    Err(e) => out.push(archive::container_finding(
                        file,
                        "model.safetensors.invalid",
                        Severity::Medium,
                        format!("safetensors: {e}"),
                    )),
                }
            }
            Format::Npy => match archive::npy_pickle(data) {
                Ok(Some((offset, pickle))) => {
                    let a = analyze(pickle, &self.opts.allow);
                    let name = format!("{file}@{offset}");
                    self.pickle_report(&name, pickle, &a, &[], false, depth, out);
                }
                Ok(None) => {}
                Err(e) => out.push(archive::container_finding(
                    file,
                    "model.npy.malformed",
                    Severity::Medium,
                    e,
                )),
            },
            // Named like a model but holding no import a loader could reach (anything that
            // reaches one is analysed as a pickle): said even without --verbose.
            Format::Text | Format::Other if origin != Origin::Payload && model_named(file) => out
                .push(
                    Finding::new(
                        "model.format.unrecognized",
                        Severity::Low,
                        "named like a model file, but none of the formats this scanner reads, and \
                         no import a loader could reach: nothing to scan",
                    )
                    .at(loc()),
                ),
            Format::Hdf5 => {
                let blobs = keras::hdf5(file, data, self.opts, out);
                self.blobs(file, blobs, depth, out);
            }
            // An unzipped Keras model is a directory holding its config.json.
            Format::Text if origin != Origin::Payload && file.ends_with("config.json") => {
                let blobs = keras_config(file, data, self.opts, out);
                self.blobs(file, blobs, depth, out);
            }
            format @ (Format::Text | Format::Other) => {
                let (severity, what) = if format == Format::Text {
                    (Severity::Low, "text, not a pickle or model file: not analysed")
                } else {
                    (
                        Severity::Low,
                        "not a pickle, PyTorch, NumPy, joblib, Keras or safetensors file: nothing to scan",
                    )
                };
                let severity = if self.opts.verbose { severity } else { Severity::Info };
                out.push(Finding::new("model.format.not-a-model", severity, what).at(loc()));
            }
            Format::SevenZip => out.push(
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

    /// Base64 strings of a Keras config that decode to something a loader could open.
    fn blobs(&mut self, file: &str, blobs: Vec<Vec<u8>>, depth: usize, out: &mut Vec<Finding>) {
        for (i, b) in blobs.iter().enumerate() {
            self.scan(&format!("{file}:base64#{i}"), b, depth + 1, Origin::Payload, out);
        }
    }

    /// A file recognised by a magic that a pickle loader would still read as a pickle (a
    /// tar header's name field, `BZh` that is also `BINBYTES`, a safetensors length that is
    /// also opcodes): scanned that way too when it reads as one.
    fn also_as_pickle(&mut self, file: &str, data: &[u8], depth: usize, out: &mut Vec<Finding>) {
        if data.first().is_some_and(|&b| crate::pickle::is_opcode(b)) && reads_as_pickle(data) {
            let a = analyze(data, &self.opts.allow);
            let name = format!("{file} (read as a pickle)");
            self.pickle_report(
                &name,
                data,
                &a,
                &["model.pickle.junk-after-stop"],
                false,
                depth,
                out,
            );
        }
    }

    /// A zip archive: every member either view of the archive shows, scanned.
    fn zip(&mut self, file: &str, data: &[u8], depth: usize, out: &mut Vec<Finding>) {
        let listing = zip::members(data);
        for p in listing.problems {
            out.push(archive::container_finding(
                file,
                "model.archive.malformed",
                Severity::Medium,
                format!("zip: {p}"),
            ));
        }
        // PyTorch's layout: `<root>/data.pkl` names its storages by persistent ID.
        let torch = listing.members.iter().any(|m| m.name.ends_with("/data.pkl"))
            && listing
                .members
                .iter()
                .any(|m| m.name.contains("/data/") || m.name.ends_with("/version"));
        for m in &listing.members {
            let name = match m.seen {
                Seen::Both => format!("{file}:{}", m.name),
                Seen::Central => format!("{file}:{} (as the central directory reads it)", m.name),
                Seen::Local => format!("{file}:{} (as its local header reads it)", m.name),
            };
            match zip::extract(data, m, &mut self.budget) {
                // A Keras model config is read for its layers, and like any member by its
                // content too (the name proves nothing).
                Ok(bytes) if m.name.ends_with("config.json") => {
                    let blobs = keras_config(&name, &bytes, self.opts, out);
                    self.blobs(&name, blobs, depth, out);
                    self.scan(&name, &bytes, depth + 1, Origin::Member, out);
                }
                Ok(bytes) => {
                    let origin = if torch && m.name.ends_with("data.pkl") {
                        Origin::TorchPickle
                    } else {
                        Origin::Member
                    };
                    self.scan(&name, &bytes, depth + 1, origin, out)
                }
                // Encrypted for real: no model loader passes a password.
                Err(e) if m.encrypted() => out.push(archive::container_finding(
                    &name,
                    "model.archive.encrypted",
                    Severity::Low,
                    format!(
                        "encrypted member could not be inspected ({e}); no model loader decrypts it"
                    ),
                )),
                Err(e) => out.push(archive::container_finding(
                    &name,
                    "model.archive.not-inspected",
                    Severity::Medium,
                    format!("member not inspected: {e}"),
                )),
            }
        }
    }

    /// A pickle's findings, less the `expected` checks that a known file layout explains,
    /// then the bytes it holds that could be files of their own.
    #[allow(clippy::too_many_arguments, reason = "one call per container kind")]
    fn pickle_report(
        &mut self,
        file: &str,
        data: &[u8],
        a: &Analysis,
        expected: &[&str],
        torch: bool,
        depth: usize,
        out: &mut Vec<Finding>,
    ) {
        let mut own = Vec::new();
        pickle_findings(file, a, "", &mut own);
        if a.persistent_ids > 0 && !torch {
            own.push(
                Finding::new(
                    "model.pickle.persistent-id",
                    Severity::Medium,
                    format!(
                        "{} persistent IDs: resolved by the loader's own persistent_load, which this scan cannot see (a plain unpickler refuses them)",
                        a.persistent_ids
                    ),
                )
                .at(Location::file(file.to_owned())),
            );
        }
        out.extend(own.into_iter().filter(|f| !expected.contains(&f.check.as_str())));
        let (mut decoded, mut payloads) = (Vec::new(), Vec::new());
        held_bytes(a, data, 0, &mut decoded, &mut payloads);
        for (offset, bytes) in decoded.into_iter().chain(payloads) {
            let name = format!("{file}@{offset}");
            self.scan(&name, bytes, depth + 1, Origin::Payload, out);
        }
    }
}

/// The bytes an analysis and the pickles nested in it hold that could be files, by offset
/// in the analysed input: those built from text (`decoded`), and `bytes` values of the
/// input itself (`payloads`).
fn held_bytes<'a>(
    a: &'a Analysis,
    data: &'a [u8],
    base: u64,
    decoded: &mut Vec<(u64, &'a [u8])>,
    payloads: &mut Vec<(u64, &'a [u8])>,
) {
    decoded.extend(a.decoded.iter().map(|(o, b)| (o + base, b.as_slice())));
    for (o, len) in &a.payloads {
        let offset = o + base;
        let range = usize::try_from(offset)
            .ok()
            .and_then(|s| Some(s..s.checked_add(usize::try_from(*len).ok()?)?));
        if let Some(bytes) = range.and_then(|r| data.get(r)) {
            payloads.push((offset, bytes));
        }
    }
    for (offset, nested) in &a.nested {
        held_bytes(nested, data, base + offset, decoded, payloads);
    }
}

/// Whether a file's name says it is a model file.
fn model_named(file: &str) -> bool {
    let base = file.rsplit([':', '/', '\\']).next().unwrap_or(file);
    base.rsplit_once('.')
        .is_some_and(|(_, ext)| MODEL_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}

/// What a container walker could not read cleanly: the members it could read are still
/// scanned, but a loader may see what this reading did not, so each is medium.
fn malformed(file: &str, container: &str, problems: Vec<String>, findings: &mut Vec<Finding>) {
    for p in problems {
        findings.push(archive::container_finding(
            file,
            "model.archive.malformed",
            Severity::Medium,
            format!("{container}: {p}"),
        ));
    }
}

fn pickle_findings(file: &str, a: &Analysis, context: &str, out: &mut Vec<Finding>) {
    for imp in &a.imports {
        let written = format!("{}.{}", imp.module, imp.name);
        let callable = format!("{}.{}", imp.target.0, imp.target.1);
        let spelled =
            if written == callable { String::new() } else { format!(", written {written}") };
        let (check, severity, what) = match (imp.class, imp.called || imp.wrapped) {
            (Class::Dangerous, true) => {
                ("model.pickle.dangerous-call", Severity::Critical, "calls")
            }
            (Class::Dangerous, false) => {
                ("model.pickle.dangerous-import", Severity::High, "imports")
            }
            (Class::Unknown, _) => (
                "model.pickle.unknown-import",
                Severity::Medium,
                if imp.called || imp.wrapped { "calls" } else { "imports" },
            ),
            (Class::Safe, _) => continue,
        };
        out.push(
            Finding::new(
                check,
                severity,
                format!(
                    "{what} {callable} ({} at byte {}{spelled}{context})",
                    imp.opcode, imp.offset
                ),
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
            IssueKind::NeedsEncoding => (
                "model.pickle.python2-text",
                "a Python 2 string that is not ASCII: loaders refuse it unless given \
                 encoding='latin1' or 'bytes' (the rest was read either way)"
                    .to_owned(),
            ),
            IssueKind::NotLoadable => (
                "model.pickle.not-loadable",
                "a GLOBAL name that is not UTF-8: Python's loader stops here, nothing after it can run".to_owned(),
            ),
        };
        // Bytes after the last STOP are never read by the loader (the analysis still tried
        // them as a pickle); a name Python cannot decode stops the loader there.
        let severity = match issue.kind {
            IssueKind::NotLoadable | IssueKind::JunkAfterStop(_) | IssueKind::NeedsEncoding => {
                Severity::Low
            }
            _ => Severity::Medium,
        };
        out.push(
            Finding::new(check, severity, format!("{message}{context}"))
                .at(Location::file(file.to_owned()).offset(issue.offset)),
        );
    }
    if a.pickles > 1 {
        out.push(
            Finding::new(
                "model.pickle.concatenated",
                Severity::Low,
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
