"""Vendored reference data (CSV) read at runtime through importlib.resources; see SOURCE.md."""
