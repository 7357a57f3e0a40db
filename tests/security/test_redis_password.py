"""Redis behind a password (the kit's requirepass, SUGANG_REDIS_PASSWORD): the app's one Redis
client authenticates to a server by URL and, behind Sentinel, to the sentinels and the master
alike; without the password both refuse it. A throwaway redis-server and sentinel on free
loopback ports, never the shared Redis."""

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from sugang.config import Settings
from sugang.db.redis import redis_client
from tests.support.server import free_port

pytestmark = pytest.mark.slow  # starts redis-server processes

PASSWORD = "test-only-redis-password"
MASTER = "sugang"


@contextmanager
def redis_process(*args: str, port: int, cwd: Path) -> Iterator[int]:
    if shutil.which("redis-server") is None:
        pytest.fail("these tests need redis-server (apt-get install redis-server)")
    process = subprocess.Popen(
        ["redis-server", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis("127.0.0.1", port, password=PASSWORD, socket_timeout=1) as c:
                    c.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    with redis_process(
        "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
        "--save", "", "--appendonly", "no",
        port=port, cwd=tmp_path,
    ) as ready:  # fmt: skip
        yield ready


@pytest.fixture
def sentinel(server: int, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                f"sentinel monitor {MASTER} 127.0.0.1 {server} 1",
                f"sentinel auth-pass {MASTER} {PASSWORD}",
                f"requirepass {PASSWORD}",
                "",
            ]
        )
    )
    with redis_process(str(conf), "--sentinel", port=port, cwd=tmp_path) as ready:
        yield ready


async def write_and_read(client: "aioredis.Redis") -> bytes | None:
    try:
        await client.set("door", b"locked")
        return await client.get("door")  # type: ignore[no-any-return]
    finally:
        await client.aclose()


def test_the_client_gives_the_password_to_a_server_by_url(server: int) -> None:
    url = f"redis://127.0.0.1:{server}/0"
    target = Settings(redis_url=url, redis_password=PASSWORD).redis
    assert isinstance(target, str)
    assert asyncio.run(write_and_read(redis_client(target, timeout=2))) == b"locked"

    without = Settings(redis_url=url).redis
    assert without == url
    with pytest.raises(redis.AuthenticationError):
        asyncio.run(write_and_read(redis_client(without, timeout=2)))
    # a password in the URL itself wins over the setting
    wrong_in_url = Settings(
        redis_url=f"redis://:nope@127.0.0.1:{server}/0", redis_password=PASSWORD
    )
    assert isinstance(wrong_in_url.redis, str)
    with pytest.raises(redis.AuthenticationError):
        asyncio.run(write_and_read(redis_client(wrong_in_url.redis, timeout=2)))


def test_behind_sentinel_the_client_gives_it_to_the_sentinels_and_the_master(
    sentinel: int,
) -> None:
    settings = Settings(
        redis_sentinels=f"127.0.0.1:{sentinel}", redis_master_name=MASTER, redis_password=PASSWORD
    )
    assert settings.redis is not None
    assert PASSWORD not in repr(settings.redis)  # never in a log line or a traceback
    assert asyncio.run(write_and_read(redis_client(settings.redis, timeout=2))) == b"locked"

    anonymous = Settings(redis_sentinels=f"127.0.0.1:{sentinel}", redis_master_name=MASTER)
    assert anonymous.redis is not None
    with pytest.raises(redis.RedisError):  # the sentinel refuses to say where the master is
        asyncio.run(write_and_read(redis_client(anonymous.redis, timeout=2)))
    with (
        redis.Redis("127.0.0.1", sentinel, socket_timeout=1) as unauthenticated,
        pytest.raises(redis.AuthenticationError),
    ):
        unauthenticated.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)


def test_a_password_with_url_reserved_characters_survives_the_url() -> None:
    tricky = "p@ss/w:rd#?%"
    target = Settings(redis_url="redis://redis:6379/0", redis_password=tricky).redis
    assert isinstance(target, str)
    parsed = aioredis.connection.parse_url(target)
    assert parsed["password"] == tricky and parsed["host"] == "redis"
