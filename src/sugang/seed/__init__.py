"""Seed data: a small realistic demo, and deterministic synthetic terms for tests and benches."""
