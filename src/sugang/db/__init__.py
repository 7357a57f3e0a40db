"""Where data lives: the SQL engine and its transactions, column types, migrations, Redis."""

from sugang.db.engine import Database, is_retryable

__all__ = ["Database", "is_retryable"]
