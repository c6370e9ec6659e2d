"""tox plugin: one test env per lab, discovered from labs/*/lab.yaml (nothing to register by hand).

Each lab gets an env named after its folder that syncs only that lab's package from uv.lock
(``uv sync --locked --package <lab>``) and runs its tests. A section ``[testenv:<lab>]`` in
tox.ini can still add or override settings for one lab.
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path
from typing import Any

from tox.config.loader.memory import MemoryLoader
from tox.config.types import Command, EnvList
from tox.plugin import impl

LABS_DIR = Path(__file__).resolve().parent / "labs"


def _labs() -> dict[str, str]:
    """Lab folder name → uv package name, for every lab with a lab.yaml and a pyproject.toml."""
    labs = {}
    for lab_yaml in sorted(LABS_DIR.glob("*/lab.yaml")):
        pyproject = lab_yaml.parent / "pyproject.toml"
        if pyproject.is_file():
            labs[lab_yaml.parent.name] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    return labs


@impl
def tox_extend_envs() -> list[str]:
    return list(_labs())


@impl
def tox_add_core_config(core_conf: Any, state: Any) -> None:
    # the default run (plain `tox`, `make test`) = env_list of tox.ini + every lab
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(Path(__file__).resolve().parent / "tox.ini", encoding="utf-8")
    listed = [e.strip() for e in ini.get("tox", "env_list", fallback="").replace("\n", ",").split(",") if e.strip()]
    labs = [lab for lab in _labs() if lab not in listed]
    core_conf.loaders.insert(0, MemoryLoader(env_list=EnvList([*listed, *labs])))
    pos_args = list(state.conf.pos_args(None) or ())
    for lab, package in _labs().items():
        state.conf.memory_seed_loaders[lab].append(
            MemoryLoader(
                description=f"{lab} in its own env ({package} from uv.lock): its pipeline and tests",
                uv_sync_flags=[f"--package={package}"],
                commands=[Command(["pytest", f"labs/{lab}/tests", *pos_args])],
            )
        )
