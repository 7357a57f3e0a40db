"""`sugang deploy`: render an overlay of deploy/k3s and apply it to the current cluster."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sugang.cli.common import console, errors
from sugang.deploy.kit import OVERLAYS, KitError, kinds_in_kit, render
from sugang.deploy.rollout import Kubectl, Step, deploy, endpoints, secrets_in_cluster, uninstall
from sugang.deploy.secrets import ROTATION_BREAKS, SecretsReport, reconcile


def deploy_command(
    overlay: Annotated[
        str, typer.Option(help=f"which topology: {', '.join(OVERLAYS)}")
    ] = "multi-node",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the rendered YAML and apply nothing")
    ] = False,
    kit: Annotated[Path, typer.Option(help="the kustomize kit")] = Path("deploy/k3s"),
    image: Annotated[
        str | None, typer.Option(help="the API image to run, e.g. registry.local:5000/sugang:0.2")
    ] = None,
    context: Annotated[
        str | None, typer.Option(help="kubeconfig context (default: the current one)")
    ] = None,
    timeout: Annotated[float, typer.Option(min=30, help="seconds to wait for it all")] = 900,
    rotate_secrets: Annotated[
        bool,
        typer.Option(
            "--rotate-secrets",
            help="give the application a new signing key (logs everyone out; asks first)",
        ),
    ] = False,
    migrate_from: Annotated[
        str | None,
        typer.Option(
            help="the overlay the cluster runs now, when switching to one with another "
            "database: the old database is kept running for the data move"
        ),
    ] = None,
    uninstall_: Annotated[
        bool,
        typer.Option(
            "--uninstall",
            help="delete what sugang deploy applied; the database, its volume and the "
            "secrets stay unless --delete-data",
        ),
    ] = False,
    delete_data: Annotated[
        bool, typer.Option("--delete-data", help="with --uninstall: the database and its data too")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask before breaking things")] = (
        False
    ),
) -> None:
    """Render the overlay with kubectl's kustomize, apply it server-side to the cluster of the
    kubeconfig context, wait for the operators, the migration and the API's rollout, prune what
    an earlier deploy left that this overlay does not have, and say where it answers.

    Secrets: the values the cluster holds are reused (and written to the kit's env files);
    new ones are generated only on the first install, and never printed."""
    try:
        if migrate_from is not None and migrate_from not in OVERLAYS:
            raise KitError(f"--migrate-from {migrate_from!r}: one of {', '.join(OVERLAYS)}")
        if delete_data and not uninstall_:
            raise KitError("--delete-data goes with --uninstall")
        if uninstall_ and (dry_run or rotate_secrets or migrate_from):
            raise KitError("--uninstall takes no --dry-run, --rotate-secrets or --migrate-from")
        kubectl = None if dry_run else Kubectl(context)
        if uninstall_:
            assert kubectl is not None
            _uninstall(kubectl, kit, delete_data, yes)
            return
        if rotate_secrets and not yes:
            errors.print(f"--rotate-secrets: {ROTATION_BREAKS}.")
            if not typer.confirm("Rotate the signing key now?", err=True):
                raise typer.Exit(1)
        held = secrets_in_cluster(kubectl) if kubectl else None
        _say(reconcile(kit, held, rotate=rotate_secrets), dry_run)
        rendered = render(kit, overlay, image)
        if kubectl is None:
            print(rendered.text, end="")
            return
        with _progress() as step:
            notes = deploy(kubectl, rendered, kinds_in_kit(kit), step, timeout, migrate_from)
        console.print(f"[green]sugang is up[/green] ({overlay}). It answers at:")
        for url in endpoints(kubectl):
            console.print(f"  {url}")
        console.print("Watch the autoscaler: kubectl -n sugang get hpa -w")
        for note in notes:
            errors.print(f"[yellow]note[/yellow]: {note}", soft_wrap=True, highlight=False)
    except KitError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None


def _say(report: SecretsReport, dry_run: bool) -> None:
    if report.from_cluster:
        errors.print(
            "took from the cluster (reused, not regenerated): " + ", ".join(report.from_cluster)
        )
    if report.replaced_locally:
        errors.print(
            "[yellow]your kit's value differed from the cluster's; kept the cluster's[/yellow]: "
            + ", ".join(report.replaced_locally)
            + " (--rotate-secrets to change the signing key)"
        )
    if report.generated:
        where = "no cluster was asked (--dry-run)" if dry_run else "the cluster has none yet"
        errors.print(f"generated {', '.join(report.generated)} ({where})")
    if report.rotated:
        errors.print(f"rotated {', '.join(report.rotated)}: {ROTATION_BREAKS}")
    for path in report.written:
        errors.print(f"wrote {path} (mode 0600; keep it, never commit it)", soft_wrap=True)


def _uninstall(kubectl: Kubectl, kit: Path, delete_data: bool, yes: bool) -> None:
    if delete_data and not yes:
        errors.print("--delete-data deletes the database and every enrollment in it.")
        if not typer.confirm("Delete sugang and its data?", err=True):
            raise typer.Exit(1)
    with _progress() as step:
        deleted, kept = uninstall(kubectl, kinds_in_kit(kit), delete_data, step)
    console.print(f"[green]deleted {len(deleted)} objects[/green] that sugang deploy applied.")
    if kept:
        console.print(
            "Kept (the data, and what a later deploy needs to reach it): "
            + ", ".join(map(str, kept))
            + ". `sugang deploy --uninstall --delete-data` removes them too.",
            highlight=False,
        )


class _progress:
    """A Rich progress bar as a Step."""

    def __enter__(self) -> Step:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        )
        bar = self._bar.__enter__()
        task = bar.add_task("starting", total=1.0)
        return lambda what, done: bar.update(task, description=what, completed=done)

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)
