"""Create, adopt and remove labs: one template (scaffold/template), rendered with Jinja2."""

from buildcpg_shared.scaffold.create import create_lab, remove_lab, validate_new_lab_name

__all__ = ["create_lab", "remove_lab", "validate_new_lab_name"]
