"""Liveness, readiness and the server clock."""
