#!/usr/bin/env python3
"""Writes model files with the libraries too large for CI to install (PyTorch: ~5 GB with
its CUDA wheels from PyPI; Keras 3 needs a backend such as JAX), as committed fixtures for
crates/mlguard-pickle/tests/realworld.rs. Run by bench/model_fixtures.sh, which makes the
virtualenvs; never loads a file it writes.

  model_fixtures.py torch OUTDIR          (in a virtualenv with torch)
  model_fixtures.py keras OUTDIR          (in a virtualenv with keras and jax)
  model_fixtures.py transformers OUTDIR   (with torch, transformers and accelerate)

Each run adds its files to OUTDIR/manifest.json: {"file", "label", "kind", "payload"?,
"library": {name: version}}.
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import sys
import zipfile


class Evil:
    """Its pickle calls os.system when loaded (never loaded here)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def payload_pickle(protocol=2):
    return pickle.dumps({"hook": Evil()}, protocol=protocol)


def add(manifest, out, name, label, kind, library, payload=None):
    entry = {"file": name, "label": label, "kind": kind, "library": library,
             "sha256": hashlib.sha256(open(os.path.join(out, name), "rb").read()).hexdigest()}
    if payload:
        entry["payload"] = payload
    manifest.append(entry)


def write_torch(out, manifest):
    import argparse as ap
    import torch
    from torch import nn

    lib = {"torch": torch.__version__, "python": sys.version.split()[0]}
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = model(torch.randn(16, 4)).sum()
    loss.backward()
    opt.step()
    files = {
        "torch/state_dict.pt": (model.state_dict(), {}),
        "torch/module.pt": (model, {}),
        "torch/optimizer.pt": (opt.state_dict(), {}),
        "torch/dtypes.pt": ({
            "f16": torch.ones(3, dtype=torch.float16), "bf16": torch.ones(3, dtype=torch.bfloat16),
            "i8": torch.arange(4, dtype=torch.int8), "b": torch.tensor([True, False]),
            "c64": torch.ones(2, dtype=torch.complex64), "view": torch.arange(10.0)[2:7],
        }, {}),
        "torch/checkpoint.pt": ({
            "epoch": 3, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "args": ap.Namespace(lr=0.01, epochs=3), "rng": torch.get_rng_state(),
        }, {}),
        "torch/legacy_state_dict.pt": (model.state_dict(), {"_use_new_zipfile_serialization": False}),
    }
    for name, (obj, kw) in files.items():
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save(obj, path, **kw)
        add(manifest, out, name, "benign", f"torch.save {name.split('/')[1]}", lib)
    bad = {
        "torch/checkpoint_hook.pt": ({"model": model.state_dict(), "hook": Evil()}, {}),
        "torch/legacy_hook.pt": ({"model": model.state_dict(), "hook": Evil()},
                                 {"_use_new_zipfile_serialization": False}),
    }
    for name, (obj, kw) in bad.items():
        torch.save(obj, os.path.join(out, name), **kw)
        add(manifest, out, name, "malicious", f"torch.save with Evil() in the checkpoint", lib, "posix.system")
    # A real torch.save zip whose data.pkl is replaced, every other member (aligned, as
    # torch writes them) kept.
    src = os.path.join(out, "torch/state_dict.pt")
    dst = os.path.join(out, "torch/data_pkl_replaced.pt")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                data = payload_pickle()
            zout.writestr(info, data)
    add(manifest, out, "torch/data_pkl_replaced.pt", "malicious",
        "torch.save zip with archive/data.pkl replaced by a payload", lib, "posix.system")


def write_keras(out, manifest):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    lib = {"keras": keras.__version__, "backend": keras.backend.backend(), "python": sys.version.split()[0]}
    os.makedirs(os.path.join(out, "keras"), exist_ok=True)
    keras.utils.set_random_seed(0)
    dense = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(3, activation="softmax")])
    dense.save(os.path.join(out, "keras/dense.keras"))
    add(manifest, out, "keras/dense.keras", "benign", "keras Sequential Dense model", lib)
    inp = keras.Input((4,))
    x = keras.layers.Dense(4)(inp)
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)
    lam = keras.Model(inp, x)
    lam.save(os.path.join(out, "keras/lambda.keras"))
    add(manifest, out, "keras/lambda.keras", "malicious",
        "keras model with a Lambda layer: its Python code runs when loaded", lib, "Lambda")


def write_transformers(out, manifest):
    os.environ["HF_HUB_OFFLINE"] = "1"
    import tempfile

    import accelerate
    import tokenizers
    import torch
    import transformers
    from transformers import BertConfig, BertTokenizer, BertTokenizerFast, TrainingArguments

    lib = {"transformers": transformers.__version__, "accelerate": accelerate.__version__,
           "tokenizers": tokenizers.__version__, "torch": torch.__version__,
           "python": sys.version.split()[0]}
    os.makedirs(os.path.join(out, "transformers"), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # What Trainer writes as training_args.bin.
        args = TrainingArguments(output_dir=tmp, learning_rate=3e-5, num_train_epochs=2, report_to=[])
        torch.save(args, os.path.join(out, "transformers/training_args.bin"))
        add(manifest, out, "transformers/training_args.bin", "benign", "Trainer's training_args.bin (torch.save of TrainingArguments)", lib)
        vocab = os.path.join(tmp, "vocab.txt")
        with open(vocab, "w") as f:
            f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s"]) + "\n")
        for name, obj in [("tokenizer_fast.pkl", BertTokenizerFast(vocab_file=vocab)),
                          ("tokenizer.pkl", BertTokenizer(vocab_file=vocab)),
                          ("config.pkl", BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
                                                    num_attention_heads=1, intermediate_size=8))]:
            with open(os.path.join(out, "transformers", name), "wb") as f:
                pickle.dump(obj, f, protocol=4)
            add(manifest, out, f"transformers/{name}", "benign", f"pickle.dump of a {type(obj).__name__}", lib)
    bad = {"args": args, "hook": Evil()}
    torch.save(bad, os.path.join(out, "transformers/training_args_hook.bin"))
    add(manifest, out, "transformers/training_args_hook.bin", "malicious",
        "training_args.bin with Evil() beside the arguments", lib, "posix.system")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("library", choices=["torch", "keras", "transformers"])
    p.add_argument("out")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    mpath = os.path.join(a.out, "manifest.json")
    manifest = json.load(open(mpath)) if os.path.exists(mpath) else []
    manifest = [m for m in manifest if not m["file"].startswith(a.library + "/")]
    {"torch": write_torch, "keras": write_keras, "transformers": write_transformers}[a.library](a.out, manifest)
    manifest.sort(key=lambda m: m["file"])
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
