"""Load generation against a running sugang, and the audit of the invariants afterwards."""
