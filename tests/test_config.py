"""Settings refuse what would be dangerous in production."""

import pytest
from pydantic import ValidationError

from sugang.config import Settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SUGANG_SECRET_KEY"):
        Settings(environment="production")


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(environment="production", secret_key="short")  # type: ignore[arg-type]


def test_local_default_is_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUGANG_DATABASE_URL", "SUGANG_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.is_sqlite and settings.environment == "local"
