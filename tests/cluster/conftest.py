"""Stand-in machines (network + mount namespaces with a real sshd) and inventories for them."""

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lab import Lab

# One /24 per lab, claimed across every pytest process and xdist worker on the machine: a
# claim is a directory holding its owner's pid, renamed into place whole (atomic, and refused
# when the name is taken); a dead owner's claim is moved away and taken over.
CLAIMS = Path("/tmp/sugang-lab-subnets")


def claim_subnet() -> int:
    CLAIMS.mkdir(exist_ok=True)
    for subnet in range(100, 250):
        claim = CLAIMS / str(subnet)
        if claim.exists():
            try:
                os.kill(int((claim / "pid").read_text()), 0)
                continue  # its owner runs
            except (OSError, ValueError):
                with contextlib.suppress(OSError):  # a run that died left it
                    claim.rename(CLAIMS / f".stale-{uuid.uuid4().hex}")
        mine = CLAIMS / f".new-{uuid.uuid4().hex}"
        mine.mkdir()
        (mine / "pid").write_text(str(os.getpid()))
        try:
            mine.rename(claim)
        except OSError:  # another process claimed it first
            shutil.rmtree(mine, ignore_errors=True)
            continue
        return subnet
    raise RuntimeError(f"no free test subnet: see {CLAIMS}")


def release_subnet(subnet: int) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(CLAIMS / str(subnet))


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
    subnet = claim_subnet()
    try:
        lab = Lab(tmp_path, subnet)
        try:
            yield lab
        finally:
            lab.close()
    finally:
        release_subnet(subnet)


@pytest.fixture(params=["nginx", "haproxy"])
def balancer(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if shutil.which(kind) is None and not Path(f"/usr/sbin/{kind}").exists():
        pytest.fail(f"{kind} is needed (Debian's package): `make test` installs it")
    return kind
