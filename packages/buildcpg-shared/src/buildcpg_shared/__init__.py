"""BuildCPG Labs shared library."""
