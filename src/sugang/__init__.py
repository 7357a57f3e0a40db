"""sugang: course registration that stays correct under a registration rush."""

__version__ = "0.1.0"
