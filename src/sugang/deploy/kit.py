"""The deployment kit in deploy/k3s: its secrets, its rendering, and what to apply first.

Rendering and applying go through the installed `kubectl` (its built-in kustomize, and
server-side apply), so what `sugang deploy` does is what an operator would type.
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OVERLAYS = ("single-node", "multi-node", "ha", "keda")
DEFAULT_IMAGE = "sugang"
PART_OF = "app.kubernetes.io/part-of=sugang"  # every object of the kit carries this label
OVERLAY_ANNOTATION = "sugang.dev/overlay"  # on the namespace: the overlay deployed last


class KitError(Exception):
    """What an operator must fix before the kit can be rendered or applied."""


Kind = tuple[str, str]  # (API group, kind): ("apps", "Deployment"), ("", "Service")


@dataclass(frozen=True)
class Rendered:
    text: str
    documents: list[dict[str, Any]]

    def keys(self) -> set[tuple[str, str, str, str]]:
        """(group, kind, namespace, name) of every object."""
        return {
            (*kind_of(d), d["metadata"].get("namespace", ""), d["metadata"]["name"])
            for d in self.documents
        }


def group_of(document: dict[str, Any]) -> str:
    api_version = str(document.get("apiVersion", ""))
    return api_version.split("/")[0] if "/" in api_version else ""


def kind_of(document: dict[str, Any]) -> Kind:
    return group_of(document), str(document["kind"])


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


def kinds_in_kit(kit: Path) -> set[Kind]:
    """Every kind any overlay of the kit may hold: what a prune or an uninstall looks for."""
    found: set[Kind] = {("", "Secret"), ("", "ConfigMap")}  # from the generators
    for path in sorted(kit.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or "examples" in path.parts:
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and "kind" in document and "apiVersion" in document:
                found.add(kind_of(document))
    return found


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
    for document in documents:
        if document["kind"] == "Namespace" and document["metadata"]["name"] == "sugang":
            annotations = document["metadata"].setdefault("annotations", {})
            annotations[OVERLAY_ANNOTATION] = overlay
    return Rendered(to_yaml(documents), documents)
