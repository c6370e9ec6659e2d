"""The lab runner: Check → Load → Transform → Test → Inspect in one process per lab run."""
