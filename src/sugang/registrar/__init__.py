"""Registrar operations: auto-enrollment from baskets and CSV imports."""
