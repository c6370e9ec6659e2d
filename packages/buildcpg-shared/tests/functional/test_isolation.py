"""Per-lab venvs are isolated: a package only one lab declares cannot be imported in another's.

Runs the real uv on a small fixture workspace whose two labs depend on two local wheels built
here (no network at test time).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path


def _uv() -> str:
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def build_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal, valid pure-Python wheel with one module ``name`` exposing ``VERSION``."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f'VERSION = "{version}"\n'.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: buildcpg-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def make_workspace(root: Path, labs: dict[str, list[str]], extra_uv: str = "") -> Path:
    """A uv workspace (root project package=false, like ours) with labs depending on local wheels."""
    (root / "wheels").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "fixture-ws"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = []\n\n'
        f'[tool.uv]\npackage = false\nno-index = true\nfind-links = ["{(root / "wheels").as_posix()}"]\n{extra_uv}\n'
        '[tool.uv.workspace]\nmembers = ["labs/*"]\n'
    )
    for lab, deps in labs.items():
        folder = root / "labs" / lab
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "{lab.replace("_", "-")}"\nversion = "0"\nrequires-python = ">=3.11"\n'
            f"dependencies = {deps!r}\n\n[tool.uv]\npackage = false\n".replace("'", '"')
        )
    return root


def uv(root: Path, *args: str, venv: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env["UV_OFFLINE"] = "1"
    if venv is not None:
        env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    return subprocess.run([_uv(), *args], cwd=root, env=env, capture_output=True, text=True, check=False)


def imports(venv: Path, module: str) -> str | None:
    """``module.VERSION`` inside a venv, or None when it cannot be imported there."""
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import {module}; print({module}.VERSION)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_package_of_one_lab_is_not_importable_in_another(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", {"lab_a": ["alpha"], "lab_b": ["beta"]})
    build_wheel(root / "wheels", "alpha", "1.0")
    build_wheel(root / "wheels", "beta", "1.0")
    locked = uv(root, "lock")
    assert locked.returncode == 0, locked.stderr
    venv_a, venv_b = root / "labs" / "lab_a" / ".venv", root / "labs" / "lab_b" / ".venv"
    for package, venv in (("lab-a", venv_a), ("lab-b", venv_b)):
        synced = uv(root, "sync", "--locked", "--package", package, venv=venv)
        assert synced.returncode == 0, synced.stderr
    assert imports(venv_a, "alpha") == "1.0"
    assert imports(venv_a, "beta") is None
    assert imports(venv_b, "beta") == "1.0"
    assert imports(venv_b, "alpha") is None


CONFLICTS = """conflicts = [[{ package = "lab-a" }, { package = "lab-b" }]]
preview-features = ["package-conflicts"]
"""


def test_two_labs_can_pin_conflicting_versions_of_one_package(tmp_path: Path) -> None:
    """uv `conflicts` lets lab_a pin alpha==1.0 and lab_b alpha==2.0 in one lock; without it, lock fails."""
    labs = {"lab_a": ["alpha==1.0"], "lab_b": ["alpha==2.0"]}
    plain = make_workspace(tmp_path / "plain", labs)
    declared = make_workspace(tmp_path / "declared", labs, extra_uv=CONFLICTS)
    for root in (plain, declared):
        build_wheel(root / "wheels", "alpha", "1.0")
        build_wheel(root / "wheels", "alpha", "2.0")

    refused = uv(plain, "lock")
    assert refused.returncode != 0
    assert "unsatisfiable" in refused.stderr

    locked = uv(declared, "lock")
    assert locked.returncode == 0, locked.stderr
    lock_text = (declared / "uv.lock").read_text()
    assert 'version = "1.0"' in lock_text and 'version = "2.0"' in lock_text
    venv_a, venv_b = declared / "labs" / "lab_a" / ".venv", declared / "labs" / "lab_b" / ".venv"
    for package, venv in (("lab-a", venv_a), ("lab-b", venv_b)):
        synced = uv(declared, "sync", "--locked", "--package", package, venv=venv)
        assert synced.returncode == 0, synced.stderr
    assert imports(venv_a, "alpha") == "1.0"
    assert imports(venv_b, "alpha") == "2.0"
    # the two labs can never share one environment
    both = uv(declared, "sync", "--locked", "--all-packages", venv=declared / "both")
    assert both.returncode != 0
    assert "conflict" in both.stderr
