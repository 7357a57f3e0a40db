"""The kit's secrets: the env files kustomize makes Secrets of, kept in step with the cluster.

The cluster is the truth. A deploy from a fresh checkout, or from another operator's machine,
takes the values the cluster already holds (PostgreSQL keeps the password it started with; a
new signing key would void every session, ticket and pass) and writes them to the local files.
A value is generated only when neither the cluster nor the file has one, and changed only when
asked (`--rotate-secrets`).
"""

import base64
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SecretSource:
    """One env file of the kit and the Secret kustomize makes of it."""

    file: Path  # relative to the kit
    secret: str  # the generator's name (kustomize adds a hash suffix unless disabled)
    namespace: str
    keys: tuple[str, ...]
    what: str
    # the label its Secret has carried in every release of the kit (so a cluster deployed
    # by an older one is read too), to list only the kit's Secrets
    selector: str = "app.kubernetes.io/part-of=sugang"


SOURCES = (
    SecretSource(
        Path("base/secrets.env"),
        "sugang-secrets",
        "sugang",
        ("SUGANG_SECRET_KEY",),
        "the application's signing key (sessions, waiting-room tickets and passes)",
    ),
    SecretSource(
        Path("base/database.env"),
        "sugang-db-credentials",
        "sugang",
        ("POSTGRES_PASSWORD",),
        "the database password",
    ),
    SecretSource(
        Path("base/redis.env"),
        "sugang-redis-credentials",
        "sugang",
        ("REDIS_PASSWORD",),
        "the Redis password",
    ),
    SecretSource(
        Path("components/monitoring/secrets.env"),
        "sugang-grafana-admin",
        "monitoring",
        ("admin-password",),
        "Grafana's admin password",
        "app.kubernetes.io/name=sugang",
    ),
)
ROTATABLE = {"SUGANG_SECRET_KEY"}
ROTATION_BREAKS = (
    "a new signing key logs out every student and staff member and voids every waiting-room "
    "ticket and pass: everyone in the queue starts again at its end"
)


@dataclass
class SecretsReport:
    generated: list[str] = field(default_factory=list)  # keys given a fresh value
    from_cluster: list[str] = field(default_factory=list)  # keys taken from the cluster
    replaced_locally: list[str] = field(default_factory=list)  # local values the cluster overrode
    rotated: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() and not key.lstrip().startswith("#") and value.strip():
            found[key.strip()] = value.strip()
    return found


def _write_env(path: Path, values: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


def values_in_cluster(secrets_found: Mapping[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Each kit key's value from the Secrets a cluster holds ({namespace: [Secret, ...]}): the
    newest Secret of the kit's names that has the key (kustomize's hash suffix gives a name per
    content; a kit from before the split kept every key in sugang-secrets)."""
    values: dict[str, str] = {}
    for source in SOURCES:
        candidates = sorted(
            (
                s
                for s in secrets_found.get(source.namespace, [])
                if _generated_by(s["metadata"]["name"], source.namespace)
            ),
            key=lambda s: str(s["metadata"].get("creationTimestamp", "")),
        )
        for key in source.keys:
            for secret in reversed(candidates):
                encoded = (secret.get("data") or {}).get(key)
                if encoded:
                    values[key] = base64.b64decode(encoded).decode()
                    break
    return values


def _generated_by(name: str, namespace: str) -> bool:
    for source in SOURCES:
        if source.namespace != namespace:
            continue
        if name == source.secret:
            return True
        prefix, _, suffix = name.rpartition("-")
        if prefix == source.secret and len(suffix) == 10 and suffix.isalnum():
            return True
    return False


def reconcile(
    kit: Path,
    cluster: Mapping[str, str] | None,
    rotate: bool = False,
    fresh: Callable[[], str] = lambda: secrets.token_urlsafe(48),
) -> SecretsReport:
    """Bring every env file of the kit to the values to deploy. `cluster` is what the cluster
    holds (None when not asked, as for --dry-run: the files alone decide). Files are written
    mode 0600 and only when something changed; values are never printed."""
    report = SecretsReport()
    legacy = read_env(kit / SOURCES[0].file)  # before the split every key was in secrets.env
    for source in SOURCES:
        path = kit / source.file
        local = read_env(path)
        wanted = dict(local)
        for key in source.keys:
            if key not in wanted and key in legacy:
                wanted[key] = legacy[key]
            held = (cluster or {}).get(key)
            if held is not None and wanted.get(key) != held:
                (report.replaced_locally if key in wanted else report.from_cluster).append(key)
                wanted[key] = held
            if rotate and key in ROTATABLE:
                wanted[key] = fresh()
                report.rotated.append(key)
            elif key not in wanted:
                wanted[key] = fresh()
                report.generated.append(key)
        others = {key for other in SOURCES if other is not source for key in other.keys}
        wanted = {key: value for key, value in wanted.items() if key not in others}
        if wanted != local or not path.exists():
            _write_env(path, wanted)
            report.written.append(path)
    return report
