"""The repository's pre-commit hooks, run by pre-commit itself (`pre-commit try-repo`,
which installs the package from this repository as a user's pre-commit would) against a
temporary git repository with flawed and clean files."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

FLAWED = "import pickle\n\nwith open('m.pkl', 'rb') as f:\n    model = pickle.load(f)\n"
CLEAN = "import json\n\nprint(json.dumps({'ok': True}))\n"


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def try_repo(project, cache, *files):
    env = dict(os.environ)
    env.update(
        PRE_COMMIT_HOME=str(cache),
        # The wheel built in the dev profile, in a target directory of its own: pre-commit
        # builds from a copy of the repository (another path), whose crates must not
        # replace those of this checkout's build while its tests run.
        MATURIN_PEP517_ARGS="--profile dev",
        CARGO_TARGET_DIR=str(ROOT / "target" / "pre-commit"),
    )
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--files", *files],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_hooks_fail_a_commit_with_flawed_code_or_a_malicious_model(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    (project / "train.py").write_text(FLAWED)
    (project / "clean.py").write_text(CLEAN)
    # A pickle with no model extension: found by its content.
    (project / "weights.bin").write_bytes(pickle.dumps(Evil()))
    np.save(project / "clean.npy", np.arange(4))
    git(project, "add", ".")

    flawed = try_repo(project, tmp_path / "cache", "train.py", "weights.bin")
    out = flawed.stdout + flawed.stderr
    assert flawed.returncode == 1, out
    assert "mlguard scan code" in out and "mlguard scan model" in out
    assert "train.py" in out and "weights.bin" in out
    assert out.count("Failed") == 2, out

    clean = try_repo(project, tmp_path / "cache", "clean.py", "clean.npy")
    out = clean.stdout + clean.stderr
    assert clean.returncode == 0, out
    assert out.count("Passed") == 2, out
