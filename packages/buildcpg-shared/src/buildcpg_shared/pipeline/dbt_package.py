"""The shared dbt package ``buildcpg`` (macros every lab uses), shipped inside buildcpg-shared.

A lab installs it with a ``local:`` entry in ``dbt/packages.yml`` whose path comes from
``BUILDCPG_DBT_PACKAGE``. The lab runner sets that variable to this package's absolute folder, so a
lab copied anywhere (tests run on temporary copies) still finds it; plain ``dbt deps`` in the
workspace falls back to the relative default. Local packages install offline.
"""

from __future__ import annotations

from pathlib import Path

from buildcpg_shared.registry.paths import LabPaths

PACKAGE_ENV = "BUILDCPG_DBT_PACKAGE"
PACKAGE_NAME = "buildcpg"


def package_dir() -> Path:
    """The absolute folder of the shared dbt package (package data of buildcpg_shared)."""
    return Path(__file__).resolve().parents[1] / "dbt_package"


def uses_package(paths: LabPaths) -> bool:
    """Does the lab's ``packages.yml`` install the shared package (through ``BUILDCPG_DBT_PACKAGE``)?"""
    try:
        return PACKAGE_ENV in (paths.dbt_dir / "packages.yml").read_text(encoding="utf-8")
    except OSError:
        return False


def package_installed(paths: LabPaths) -> bool:
    """Is ``dbt_packages/buildcpg`` this very package (dbt deps links a local package)?"""
    installed = paths.dbt_dir / "dbt_packages" / PACKAGE_NAME
    return installed.exists() and installed.resolve() == package_dir()
