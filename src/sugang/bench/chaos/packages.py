"""What the chaos topology runs, installed from Debian's packages when it is missing."""

import glob
import os
import shutil
import subprocess

from sugang.bench.chaos.processes import ChaosError

# A command (or a glob for PostgreSQL's versioned directory) and the package that brings it.
NEEDED = {
    "/usr/lib/postgresql/*/bin/postgres": "postgresql",
    "redis-server": "redis-server",
    "haproxy": "haproxy",
    "iptables": "iptables",
    "ip": "iproute2",
}


def missing() -> list[str]:
    def present(what: str) -> bool:
        if "*" in what:
            return bool(glob.glob(what))
        return shutil.which(what) is not None or os.path.exists(f"/usr/sbin/{what}")

    return sorted({package for what, package in NEEDED.items() if not present(what)})


def ensure() -> None:
    """Install what is missing (apt-get, as root)."""
    packages = missing()
    if not packages:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ChaosError(f"install {', '.join(packages)} first (apt-get, as root)")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *packages],
    ):
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            check=False,
        )
        if done.returncode != 0:
            raise ChaosError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
