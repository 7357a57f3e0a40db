"""Stand-in machines (network + mount namespaces with a real sshd) and inventories for them."""

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lab import Lab

_subnets = itertools.count(100 + os.getpid() % 50 * 3)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    missing = [
        tool for tool in ("ip", "unshare", "nsenter", "/usr/sbin/sshd") if not shutil.which(tool)
    ]
    if os.geteuid() != 0 or missing:
        pytest.fail(
            "the cluster tests need root and ip/unshare/nsenter/sshd "
            f"(missing: {', '.join(missing) or 'root'}): `make test` installs openssh-server"
        )
    lab = Lab(tmp_path, next(_subnets))
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(params=["nginx", "haproxy"])
def balancer(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if shutil.which(kind) is None and not Path(f"/usr/sbin/{kind}").exists():
        pytest.fail(f"{kind} is needed (Debian's package): `make test` installs it")
    return kind
