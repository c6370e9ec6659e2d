"""The lab registry: labs discovered from the workspace (labs/*/lab.yaml) and their paths."""

from buildcpg_shared.registry.paths import LabPaths, db_env_var
from buildcpg_shared.registry.workspace import Lab, Workspace, find_lab_dir, find_workspace_root

__all__ = ["Lab", "LabPaths", "Workspace", "db_env_var", "find_lab_dir", "find_workspace_root"]
