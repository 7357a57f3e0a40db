"""Stand-in machines for `sugang cluster`'s tests: each is a network namespace with its own
address on a test bridge, its own mount namespace (its own /etc/rancher, /var/lib/rancher,
/usr/local/bin, /etc/nginx, /etc/haproxy and /run), and a real OpenSSH server. They share the
kernel and the rest of the file system with the machine running the tests."""

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import yaml

SUGANG = Path(sys.executable).parent / "sugang"
SUBNET = "10.213.{}"
PRIVATE_DIRS = ("/etc/rancher", "/var/lib/rancher", "/usr/local/bin", "/etc/nginx", "/etc/haproxy")


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check)


@dataclass
class Machine:
    name: str
    address: str
    netns: str
    root: Path
    sshd: subprocess.Popen[bytes] | None = None

    def path(self, inside: str) -> Path:
        """Where a file of this machine's private directories lives, seen from the tests."""
        for private in PRIVATE_DIRS:
            if inside == private or inside.startswith(private + "/"):
                return (
                    self.root
                    / private.strip("/").replace("/", "-")
                    / inside[len(private) :].lstrip("/")
                )
        raise ValueError(f"{inside} is not private to the machine")

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """A command inside the machine's namespaces (not over SSH: for the test's own looks)."""
        pid = self.sshd.pid if self.sshd else None
        assert pid is not None
        return sh("nsenter", "-t", str(pid), "-n", "-m", "sh", "-c", command, check=False)


class Lab:
    """A bridge and its machines; everything is removed on close."""

    def __init__(self, base: Path, subnet: int) -> None:
        self.base = base
        self.tag = uuid.uuid4().hex[:5]
        self.bridge = f"sgbr{self.tag}"
        self.prefix = SUBNET.format(subnet)
        self.machines: list[Machine] = []
        key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = base / "id_ed25519"
        key.write_private_key(str(self.client_key))
        self.client_key.chmod(0o600)
        (base / "authorized_keys").write_bytes(key.export_public_key())
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = base / "ssh_host_ed25519_key"
        host_key.write_private_key(str(self.host_key))
        self.host_key.chmod(0o600)
        self.host_public = host_key.export_public_key().decode().strip()
        self.known_hosts = base / "known_hosts"
        self.known_hosts.write_text("")
        for private in PRIVATE_DIRS:
            Path(private).mkdir(parents=True, exist_ok=True)
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.prefix}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")

    def machine(self, name: str) -> Machine:
        number = len(self.machines) + 10
        address = f"{self.prefix}.{number}"
        netns = f"sg{self.tag}{number}"
        root = self.base / "machines" / name
        machine = Machine(name, address, netns, root)
        for private in PRIVATE_DIRS:
            target = root / private.strip("/").replace("/", "-")
            if private in {"/etc/nginx", "/etc/haproxy"}:
                shutil.copytree(private, target, symlinks=True)
            else:
                target.mkdir(parents=True)
        (root / "run").mkdir()
        veth = f"v{self.tag}{number}"
        sh("ip", "netns", "add", netns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
        sh("ip", "link", "set", veth, "master", self.bridge, "up")
        sh("ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
        sh("ip", "-n", netns, "link", "set", "eth0", "up")
        sh("ip", "-n", netns, "link", "set", "lo", "up")
        with self.known_hosts.open("a") as f:
            f.write(f"{address} {self.host_public}\n")
        self.machines.append(machine)
        self.start(machine)
        return machine

    def start(self, machine: Machine) -> None:
        config = machine.root / "sshd_config"
        config.write_text(
            f"ListenAddress {machine.address}\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.base / 'authorized_keys'} .ssh/authorized_keys\n"
            "PidFile /run/sshd.pid\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "UsePAM no\nStrictModes no\n"
            "Subsystem sftp internal-sftp\n"
        )
        mounts = " && ".join(
            f"mount --bind {machine.root / private.strip('/').replace('/', '-')} {private}"
            for private in PRIVATE_DIRS
        )
        script = (
            f"{mounts} && mount -t tmpfs tmpfs /run && mkdir -p /run/sshd && "
            f"exec /usr/sbin/sshd -D -e -f {config}"
        )
        with (machine.root / "sshd.log").open("ab") as log:
            machine.sshd = subprocess.Popen(
                ["ip", "netns", "exec", machine.netns, "unshare", "--mount", "--propagation",
                 "private", "sh", "-c", script],
                stdout=log,
                stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = sh("ip", "netns", "exec", machine.netns, "ss", "-Hltn", check=False)
            if f"{machine.address}:22" in probe.stdout:
                return
            time.sleep(0.05)
        log_text = (machine.root / "sshd.log").read_text()
        raise RuntimeError(f"sshd on {machine.name} did not start: {log_text}")

    def stop(self, machine: Machine) -> None:
        """Power the machine off: every process in its namespace ends."""
        pids = sh("ip", "netns", "pids", machine.netns, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        if machine.sshd:
            machine.sshd.wait(timeout=10)

    def close(self) -> None:
        for machine in self.machines:
            self.stop(machine)
            sh("ip", "netns", "del", machine.netns, check=False)
        sh("ip", "link", "del", self.bridge, check=False)


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


STAND_IN = Path(__file__).resolve().parents[1] / "cluster" / "stand_in"


def ssh_account(lab: Lab, user: str) -> None:
    """A non-root account on the test machine (every lab machine shares /etc/passwd and
    /home) that the lab's client key logs into. Its sudo rights are the test's to give."""
    if sh("id", user, check=False).returncode != 0:
        # "*": no password, yet not locked (sshd refuses locked accounts even with a key)
        sh("useradd", "--create-home", "--password", "*", user)
    home = Path(f"~{user}").expanduser() / ".ssh"
    home.mkdir(exist_ok=True)
    shutil.copy(lab.base / "authorized_keys", home / "authorized_keys")
    shutil.chown(home, user, user)
    shutil.chown(home / "authorized_keys", user, user)


def sugang_cluster(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SUGANG), "cluster", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "KUBECONFIG": str(cwd / "kubeconfig")},
        timeout=180,
        check=False,
    )
