"""The SSH layer (src/sugang/cluster/ssh.py) as a non-root operator with sudo, against a
stand-in machine: a root-only file comes back whole, and the staged copy is gone."""

import asyncio
from pathlib import Path

import pytest
import yaml

from sugang.cluster.inventory import load
from sugang.cluster.ssh import connected
from tests.support.lab import Lab, ssh_account, write_inventory

pytestmark = pytest.mark.slow  # a stand-in machine: namespaces with sshd

USER = "sugang-backup-op"  # its own account: test_up's sudo test takes rights from its own


def test_download_reads_a_root_only_file_through_sudo(lab: Lab, tmp_path: Path) -> None:
    ssh_account(lab, USER)
    path = tmp_path / "cluster.yaml"
    inventory = write_inventory(lab, path, servers=1)
    inventory["ssh"]["user"] = USER
    path.write_text(yaml.safe_dump(inventory))
    [server] = lab.machines
    remote = "/var/lib/rancher/k3s/server/db/snapshots/sugang-s1-1"
    secret = server.path(remote)
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"etcd snapshot \x00\xff" * 1000)
    secret.chmod(0o600)
    sudoers = Path("/etc/sudoers.d/sugang-cluster-test-download")
    sudoers.write_text(f"{USER} ALL=(root) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    local = tmp_path / "copy"

    async def download() -> None:
        async with connected(load(path), ["s1"]) as hosts:
            await hosts["s1"].download(remote, local)

    try:
        asyncio.run(download())
    finally:
        sudoers.unlink()

    assert local.read_bytes() == secret.read_bytes()
    assert "sugang-download" not in server.run("ls /var/tmp").stdout
