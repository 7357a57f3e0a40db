"""Stand-in machines (network + mount namespaces with a real sshd) and inventories for them."""

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.lab import Lab

STAND_IN = Path(__file__).parent / "stand_in"
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


def write_inventory(
    lab: Lab,
    path: Path,
    servers: int = 1,
    agents: int = 0,
    ha: bool = False,
    load_balancer: str | None = None,
    **cluster: Any,
) -> dict[str, Any]:
    """Start the machines and describe them in cluster.yaml (air-gapped, with the stand-ins)."""
    nodes = []
    for role, count in (("server", servers), ("agent", agents)):
        for i in range(1, count + 1):
            name = f"{role[0]}{i}"
            machine = lab.machine(name)
            nodes.append({"name": name, "address": machine.address, "role": role,
                          "node_ip": machine.address})  # fmt: skip
    inventory: dict[str, Any] = {
        "cluster": {
            "name": "lab",
            "ha": ha,
            "airgap": {
                "k3s_binary": str(STAND_IN / "k3s"),
                "install_script": str(STAND_IN / "install.sh"),
            },
            **cluster,
        },
        "ssh": {"user": "root", "key": str(lab.client_key), "known_hosts": str(lab.known_hosts)},
        "nodes": nodes,
    }
    if load_balancer:
        machine = lab.machine("lb")
        inventory["load_balancer"] = {"address": machine.address, "kind": load_balancer}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return inventory


@pytest.fixture(params=["nginx", "haproxy"])
def balancer(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if shutil.which(kind) is None and not Path(f"/usr/sbin/{kind}").exists():
        pytest.fail(f"{kind} is needed (Debian's package): `make test` installs it")
    return kind
