"""`sugang deploy`: render an overlay of deploy/k3s and apply it to the current cluster."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sugang.cli.common import console, errors
from sugang.deploy.kit import OVERLAYS, KitError, ensure_secrets, render
from sugang.deploy.rollout import Kubectl, deploy, endpoints


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
) -> None:
    """Render the overlay with kubectl's kustomize, apply it server-side to the cluster of the
    kubeconfig context, wait for the migration and the API's rollout, and say where it
    answers. Secrets (base/secrets.env, components/monitoring/secrets.env) are generated on
    first use; only --dry-run's YAML shows them (base64, as kubectl kustomize does)."""
    try:
        for written in ensure_secrets(kit):
            errors.print(
                f"wrote random secrets to {written} (keep it; never commit it)", soft_wrap=True
            )
        rendered = render(kit, overlay, image)
        if dry_run:
            print(rendered.text, end="")
            return
        kubectl = Kubectl(context)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as progress:
            task = progress.add_task("starting", total=1.0)
            deploy(
                kubectl,
                rendered,
                lambda what, done: progress.update(task, description=what, completed=done),
                timeout,
            )
        console.print(f"[green]sugang is up[/green] ({overlay}). It answers at:")
        for url in endpoints(kubectl):
            console.print(f"  {url}")
        console.print("Watch the autoscaler: kubectl -n sugang get hpa -w")
    except KitError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
