"""Container images to the nodes without a registry, the K3s way.

An image archive (`docker save`, `buildah push … docker-archive:`, `podman save`) is copied
over SSH into every node's /var/lib/rancher/k3s/agent/images/: K3s imports what it finds there
when it starts, and pins it (the kubelet's image garbage collection leaves pinned images
alone); keep the file there. Where K3s is installed the archive is also imported now, with
`k3s ctr images import`, and pinned the same way, so pods can start without a restart.
"""

import json
import posixpath
import shlex
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sugang.cluster.inventory import Inventory
from sugang.cluster.plan import file_sha256
from sugang.cluster.ssh import Host, connected, gather_all

IMAGES_DIR = "/var/lib/rancher/k3s/agent/images"
K3S = "/usr/local/bin/k3s"
# what K3s imports from IMAGES_DIR (rancher/wharfie's tarfile reader)
ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.lz4", ".tar.bz2", ".tbz")
# `k3s ctr images import` reads a plain tar; the others are decompressed into it on the node
DECOMPRESS = {
    ".tar.gz": "gzip -dc",
    ".tgz": "gzip -dc",
    ".tar.zst": "zstd -dc",
    ".tzst": "zstd -dc",
    ".tar.bz2": "bzip2 -dc",
    ".tbz": "bzip2 -dc",
    ".tar.lz4": "lz4 -dc",
}
PINNED = ("io.cri-containerd.pinned=pinned", "io.cattle.k3s.pinned=pinned")


class ArchiveError(Exception):
    """The file is not an image archive K3s can import."""


@dataclass(frozen=True)
class Archive:
    path: Path
    suffix: str
    sha256: str
    images: tuple[str, ...]  # as containerd names them: docker.io/library/sugang:0.1.0

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def remote(self) -> str:
        return posixpath.join(IMAGES_DIR, self.path.name)


def containerd_name(reference: str) -> str:
    """The fully qualified name containerd gives an image: "sugang:0.1.0" is
    "docker.io/library/sugang:0.1.0"."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return reference
    return f"docker.io/{reference}" if rest else f"docker.io/library/{reference}"


def read_archive(path: Path) -> Archive:
    """Check the archive and name its images (a docker-archive's manifest.json, or an OCI
    layout's index.json)."""
    if not path.is_file():
        raise ArchiveError(f"{path}: no such file")
    suffix = next((s for s in sorted(ARCHIVES, key=len, reverse=True) if path.name.endswith(s)), "")
    if not suffix:
        raise ArchiveError(
            f"{path.name}: K3s imports only {', '.join(ARCHIVES)} (make one with "
            "`docker save -o sugang.tar IMAGE`)"
        )
    images: list[str] = []
    readable = suffix in {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz"}
    if readable:
        try:
            with tarfile.open(path, "r:*") as archive:
                members = set(archive.getnames())
                if "manifest.json" in members:
                    manifest = json.load(_member(archive, "manifest.json"))
                    images = [tag for entry in manifest for tag in entry.get("RepoTags") or []]
                elif "index.json" in members:
                    index = json.load(_member(archive, "index.json"))
                    for entry in index.get("manifests", []):
                        notes = entry.get("annotations") or {}
                        name = notes.get("io.containerd.image.name") or notes.get(
                            "org.opencontainers.image.ref.name"
                        )
                        if name and ("/" in name or ":" in name):
                            images.append(name)
                else:
                    raise ArchiveError(
                        f"{path.name} is a tar file but not an image archive (no manifest.json "
                        "or index.json): make it with `docker save` or `podman save`"
                    )
        except (tarfile.TarError, OSError, ValueError) as error:
            raise ArchiveError(f"{path.name}: not a readable tar archive ({error})") from None
    names = tuple(sorted({containerd_name(image) for image in images}))
    return Archive(path, suffix, file_sha256(path), names)


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    opened = archive.extractfile(name)
    if opened is None:
        raise ArchiveError(f"{name} in the archive is not a file")
    return opened


@dataclass(frozen=True)
class NodeImport:
    node: str
    uploaded: bool  # False: the same file was there already
    imported: bool  # False: K3s is not installed yet (it imports the file when it starts)


Progress = Callable[[str, int, int], None]  # node, bytes sent, total


async def import_archive(
    inventory: Inventory, archive: Archive, names: Iterable[str], progress: Progress
) -> list[NodeImport]:
    """Put the archive on each named node and import it there, in parallel."""
    async with connected(inventory, list(names)) as hosts:
        return await gather_all([_on(host, archive, progress) for host in hosts.values()])


async def _on(host: Host, archive: Archive, progress: Progress) -> NodeImport:
    remote = shlex.quote(archive.remote)
    there = await host.run(f"sha256sum {remote} 2>/dev/null | cut -d' ' -f1", check=False)
    uploaded = there.stdout.strip() != archive.sha256
    if uploaded:
        await host.upload(
            archive.path,
            archive.remote,
            mode="0644",
            step=f"copy {archive.path.name} to {IMAGES_DIR}",
            progress=lambda sent, total: progress(host.name, sent, total),
        )
    progress(host.name, archive.size, archive.size)
    installed = (await host.run(f"test -x {K3S}", check=False)).ok
    if not installed:
        return NodeImport(host.name, uploaded, imported=False)
    if archive.suffix == ".tar":
        source, reader = remote, ""
    else:
        source, reader = "-", f"{DECOMPRESS[archive.suffix]} {remote} | "
    await host.run(
        f"{reader}{K3S} ctr -n k8s.io images import {source}",
        step=f"k3s ctr images import {archive.path.name}",
        timeout=1800,
    )
    for image in archive.images:
        labels = " ".join(PINNED)
        await host.run(
            f"{K3S} ctr -n k8s.io images label {shlex.quote(image)} {labels}",
            step=f"pin {image}",
        )
    return NodeImport(host.name, uploaded, imported=True)
