"""``buildcpg``: the platform CLI (root venv; never imports dbt, never writes a lab database)."""
