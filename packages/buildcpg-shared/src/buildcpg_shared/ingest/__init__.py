"""Ingestion: find new/changed raw files (check) and load them under their contract (load)."""
