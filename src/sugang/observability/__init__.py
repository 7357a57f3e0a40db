"""Metrics (Prometheus), structured logs with request ids, and which node served a request."""
