"""Settings refuse what would be dangerous in production."""

import pytest
from pydantic import ValidationError

from sugang.config import Sentinels, Settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SUGANG_SECRET_KEY"):
        Settings(environment="production")


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(environment="production", secret_key="short")  # type: ignore[arg-type]


SECRET = "a-private-random-value-of-32-chars-or-more"


@pytest.mark.parametrize(
    ("memory_kib", "time_cost", "allowed"),
    [
        (19 * 1024, 2, True),  # the default, OWASP's first pair
        (9 * 1024, 4, True),  # an equal-cost pair
        (46 * 1024, 1, True),
        (8 * 1024, 2, False),  # the old default
        (19 * 1024, 1, False),
        (7 * 1024, 4, False),
    ],
)
def test_production_refuses_passwords_hashed_under_owasps_minimum(
    memory_kib: int, time_cost: int, allowed: bool
) -> None:
    def build() -> Settings:
        return Settings(
            environment="production",
            secret_key=SECRET,  # type: ignore[arg-type]
            password_memory_kib=memory_kib,
            password_time_cost=time_cost,
        )

    if allowed:
        build()
    else:
        with pytest.raises(ValidationError, match="OWASP"):
            build()
    # outside production (tests, a laptop) any cost is allowed
    Settings(environment="test", password_memory_kib=memory_kib, password_time_cost=time_cost)


def test_local_default_is_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SUGANG_DATABASE_URL", "SUGANG_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.is_sqlite and settings.environment == "local"


def test_sentinels_come_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUGANG_REDIS_SENTINELS", "10.0.0.1:26379, redis-1.redis:26379")
    monkeypatch.setenv("SUGANG_REDIS_MASTER_NAME", "queue")
    target = Settings().redis
    assert target == Sentinels((("10.0.0.1", 26379), ("redis-1.redis", 26379)), "queue")


def test_without_sentinels_the_url_is_the_target() -> None:
    assert Settings(redis_url="redis://r:6379/0").redis == "redis://r:6379/0"
    assert Settings().redis is None


def test_a_sentinel_without_a_port_is_refused() -> None:
    with pytest.raises(ValueError, match="host:port"):
        _ = Settings(redis_sentinels=["10.0.0.1"]).redis
