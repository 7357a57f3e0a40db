"""The K3s kit, rendered with the installed kubectl's kustomize. No Kubernetes API server can
run here: the kit is proven by rendering, schema validation and consistency checks, and
`sugang deploy`'s cluster side against a stand-in kubectl that records what it is asked."""

import shutil
from pathlib import Path
from typing import Any

import pytest

from sugang.deploy.kit import OVERLAYS, render
from tests.support.paths import KIT

TEST_SECRETS = {
    "base/secrets.env": "SUGANG_SECRET_KEY=test-only-secret-test-only-secret-0123\n",
    "base/database.env": "POSTGRES_PASSWORD=test-pw\n",
    "base/redis.env": "REDIS_PASSWORD=test-redis-pw\n",
}
TEST_GRAFANA_SECRETS = "admin-password=test-grafana-pw\n"


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("kubectl") is None:
        pytest.fail(
            "kubectl is needed to render the kit (its built-in kustomize): install it "
            "(https://kubernetes.io/docs/tasks/tools/) and run the tests again"
        )
    copy = tmp_path_factory.mktemp("kit") / "k3s"
    shutil.copytree(KIT, copy)
    for relative, text in TEST_SECRETS.items():
        (copy / relative).write_text(text)
    (copy / "components" / "monitoring" / "secrets.env").write_text(TEST_GRAFANA_SECRETS)
    return copy


@pytest.fixture(scope="session")
def rendered(kit: Path) -> dict[str, list[dict[str, Any]]]:
    return {overlay: render(kit, overlay).documents for overlay in OVERLAYS}
