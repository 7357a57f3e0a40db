"""The deployment kit in deploy/k3s: its secrets, its rendering, and what to apply first.

Rendering and applying go through the installed `kubectl` (its built-in kustomize, and
server-side apply), so what `sugang deploy` does is what an operator would type.
"""

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OVERLAYS = ("single-node", "multi-node", "ha", "keda")
DEFAULT_IMAGE = "ghcr.io/sugang-dev/sugang"
# The kit's generated secrets: each env file kustomize makes a Secret of, and its keys.
SECRET_FILES = {
    Path("base/secrets.env"): ("SUGANG_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"),
    # Grafana's admin password, in the monitoring namespace (components/monitoring)
    Path("components/monitoring/secrets.env"): ("admin-password",),
}

# Resources of these API groups exist in every K3s (helm.cattle.io comes with its
# helm-controller); the others come with the charts the kit installs, so their resources
# are applied once their CRDs are established.
BUILT_IN_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "helm.cattle.io",
}


class KitError(Exception):
    """What an operator must fix before the kit can be rendered or applied."""


@dataclass(frozen=True)
class Rendered:
    text: str
    documents: list[dict[str, Any]]

    def split(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(resources of built-in APIs, custom resources needing a CRD first)."""
        first = [d for d in self.documents if group_of(d) in BUILT_IN_GROUPS]
        later = [d for d in self.documents if group_of(d) not in BUILT_IN_GROUPS]
        return first, later

    def crds_needed(self) -> list[str]:
        """CRD names (plural.group) of the custom resources, as `kubectl wait` wants them."""
        names = {crd_name(d) for d in self.split()[1]}
        return sorted(names)


def group_of(document: dict[str, Any]) -> str:
    api_version = str(document.get("apiVersion", ""))
    return api_version.split("/")[0] if "/" in api_version else ""


def crd_name(document: dict[str, Any]) -> str:
    kind = str(document["kind"])
    plural = kind.lower() + ("es" if kind.lower().endswith("s") else "s")
    return f"{plural}.{group_of(document)}"


def split_image(image: str) -> tuple[str, str | None]:
    """("registry:5000/team/sugang", "1.2") from "registry:5000/team/sugang:1.2"."""
    if ":" in image.rsplit("/", 1)[-1]:
        name, tag = image.rsplit(":", 1)
        return name, tag
    return image, None


def to_yaml(documents: Iterable[dict[str, Any]]) -> str:
    return str(yaml.safe_dump_all(list(documents), sort_keys=False))


def ensure_secrets(kit: Path) -> list[Path]:
    """Give every secrets file of the kit a fresh random value for each key it lacks (or has
    empty): a new kit gets every file, one from before a key existed gets that key, and a
    value once written is never changed. The files written (mode 0600); values never
    printed."""
    written = []
    for relative, keys in SECRET_FILES.items():
        path = kit / relative
        lines = path.read_text().splitlines() if path.exists() else []
        known = {
            key.strip(): value.strip()
            for key, _, value in (line.partition("=") for line in lines)
            if not key.lstrip().startswith("#") and value.strip()
        }
        missing = [key for key in keys if key not in known]
        if not missing:
            continue
        kept = [line for line in lines if line.partition("=")[0].strip() not in missing]
        fresh = [f"{key}={secrets.token_urlsafe(48)}" for key in missing]
        path.touch(mode=0o600)
        path.write_text("\n".join(kept + fresh) + "\n")
        written.append(path)
    return written


def kubectl_path() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise KitError(
            "kubectl is not installed: https://kubernetes.io/docs/tasks/tools/ (K3s servers "
            "have it as `k3s kubectl`)"
        )
    return found


def render(kit: Path, overlay: str, image: str | None = None) -> Rendered:
    """`kubectl kustomize` of the overlay, with the API image replaced if asked."""
    if overlay not in OVERLAYS:
        raise KitError(f"unknown overlay {overlay!r}: one of {', '.join(OVERLAYS)}")
    directory = kit / "overlays" / overlay
    if not directory.is_dir():
        raise KitError(f"{directory} is not there: run from the repository or pass --kit")
    with tempfile.TemporaryDirectory(prefix="sugang-kit-") as wrapper:
        target = directory.resolve()
        if image:
            name, tag = split_image(image)
            entry = {"name": DEFAULT_IMAGE, "newName": name}
            if tag:
                entry["newTag"] = tag
            Path(wrapper, "kustomization.yaml").write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "kustomize.config.k8s.io/v1beta1",
                        "kind": "Kustomization",
                        # kustomize takes only relative paths to other kustomizations
                        "resources": [os.path.relpath(target, wrapper)],
                        "images": [entry],
                    }
                )
            )
            target = Path(wrapper)
        answer = subprocess.run(
            [kubectl_path(), "kustomize", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
    if answer.returncode != 0:
        raise KitError(f"kubectl kustomize failed:\n{answer.stderr.strip()}")
    documents = [d for d in yaml.safe_load_all(answer.stdout) if d]
    return Rendered(answer.stdout, documents)
