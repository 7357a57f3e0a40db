"""Enroll, drop, waitlist and basket: the rules and the transactions that enforce them."""
