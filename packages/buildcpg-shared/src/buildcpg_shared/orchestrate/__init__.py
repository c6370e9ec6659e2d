"""Platform-side orchestration: lab venvs (uv) and concurrent lab runs."""
