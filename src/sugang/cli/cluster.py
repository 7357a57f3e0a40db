"""`sugang cluster check|plan|up|status|down`: bare Ubuntu machines to a K3s cluster over SSH,
from one inventory file; `remove`, `upgrade`, `backup` and `restore` on day two."""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from sugang.cli.common import console, errors
from sugang.cluster import maintenance, runner
from sugang.cluster.checks import Finding, Level, summary
from sugang.cluster.images import IMAGES_DIR, ArchiveError, import_archive, read_archive
from sugang.cluster.inventory import Inventory, InventoryError, Role, load
from sugang.cluster.maintenance import DrainOptions
from sugang.cluster.nodes import NodeStatus
from sugang.cluster.plan import (
    LOAD_BALANCER,
    HostFacts,
    Plan,
    PlanError,
    file_sha256,
    plan_up,
)
from sugang.cluster.ssh import HostError, connected
from sugang.cluster.state import current_plan

app = typer.Typer(
    help="Build and run a K3s cluster on your machines over SSH.", no_args_is_help=True
)
images = typer.Typer(
    help="Container images onto the nodes, without a registry.", no_args_is_help=True
)
app.add_typer(images, name="images")
T = TypeVar("T")

InventoryOption = Annotated[
    Path, typer.Option("--inventory", "-i", help="the inventory (see docs/cluster.md)")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask")]
COLOURS = {Level.PASS: "green", Level.WARN: "yellow", Level.FAIL: "red"}


def _load(path: Path) -> Inventory:
    try:
        return load(path)
    except InventoryError as error:
        errors.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None


RESUME = "Fix it and run the command again: it continues where it stopped."


def _run(work: Coroutine[Any, Any, T], after_failure: str = RESUME) -> T:
    try:
        return asyncio.run(work)
    except PlanError as error:
        errors.print(str(error), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except HostError as error:
        errors.print(f"[red]{error.host}[/red]: [bold]{error.step}[/bold] failed")
        if error.output:
            errors.print(error.output, markup=False, highlight=False, soft_wrap=True)
        errors.print(after_failure, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _report(host: str, what: str) -> None:
    console.print(f"[cyan]{host:>16}[/cyan]  {what}", highlight=False)


@app.command()
def check(inventory: InventoryOption = Path("cluster.yaml")) -> None:
    """Preflight every node and the load balancer host in parallel: OS, CPU and memory,
    swap, time sync, unique hostname/MAC/product_uuid, kernel modules, node IP, ports free,
    TCP ports reachable between the nodes and through the load balancer, flannel's UDP port
    between the nodes (a listener on each), ufw and raw iptables rules (`up` opens ufw only),
    and on the load balancer: 6443 free, nginx or HAProxy installed or installable."""
    cluster = _load(inventory)
    rows = [(n.name, str(n.role), n.address) for n in cluster.nodes]
    if cluster.load_balancer:
        rows.append((LOAD_BALANCER, "load balancer", cluster.load_balancer.address))
    findings: dict[str, list[Finding]] = {name: [] for name, _, _ in rows}

    def table() -> Table:
        grid = Table(title=f"preflight: {inventory}")
        for column in ("node", "role", "address", "pass", "warn", "fail"):
            grid.add_column(column)
        for name, role, address in rows:
            counts = summary(findings[name])
            done = bool(findings[name])
            grid.add_row(
                name,
                role,
                address,
                *(
                    f"[{COLOURS[level]}]{counts[level]}[/]" if done else "…"
                    for level in (Level.PASS, Level.WARN, Level.FAIL)
                ),
            )
        return grid

    with Live(table(), console=console, auto_refresh=False) as live:

        def heard(name: str, new: list[Finding]) -> None:
            findings[name].extend(new)
            live.update(table(), refresh=True)

        every = _run(runner.check(cluster, heard))
    console.print()
    for finding in every:
        if finding.level is not Level.PASS:
            colour = COLOURS[finding.level]
            console.print(
                f"[{colour}]{finding.level.upper()}[/] {finding.node} {finding.check}: "
                f"{finding.detail}" + (f"\n      fix: {finding.fix}" if finding.fix else ""),
                highlight=False,
            )
    failed = summary(every)[Level.FAIL]
    if failed:
        console.print(f"[red]{failed} check(s) failed[/red]: fix them before `sugang cluster up`")
        raise typer.Exit(1)
    console.print("[green]ready for `sugang cluster up`[/green]")


@app.command()
def plan(
    inventory: InventoryOption = Path("cluster.yaml"),
    offline: Annotated[
        bool, typer.Option(help="plan as for fresh machines, without connecting")
    ] = False,
) -> None:
    """Print what `up` would run on which host, in order, and the files it would write.
    Nothing is changed. The join token is never shown."""
    cluster = _load(inventory)
    if offline:
        facts = {n.name: HostFacts() for n in cluster.nodes} | {LOAD_BALANCER: HostFacts()}
        airgap = cluster.cluster.airgap
        steps = plan_up(cluster, facts, None, file_sha256(airgap.k3s_binary) if airgap else None)
    else:
        names = [n.name for n in cluster.nodes] + ([LOAD_BALANCER] if cluster.load_balancer else [])

        async def current() -> tuple[Plan, str | None]:
            async with connected(cluster, names) as hosts:
                return await current_plan(cluster, hosts)

        steps, token = _run(current())
        del token  # the plan shows joiners' configs with the token redacted
    print_plan(steps)


def print_plan(steps: Plan) -> None:
    number = 0
    for stage, parallel, stage_steps in steps.stages:
        console.rule(f"{stage}" + (" (in parallel)" if parallel else ""))
        for step in stage_steps:
            number += 1
            state = "" if step.changes or step.commands else " [dim](nothing to do)[/dim]"
            console.print(
                f"{number:>2}. [cyan]{step.host}[/cyan]: [bold]{step.action}[/bold]"
                f" — {step.why}{state}",
                highlight=False,
                soft_wrap=True,
            )
            for upload in step.uploads:
                console.print(f"      upload {upload.local} → {upload.remote} ({upload.mode})")
            for file in step.files:
                console.print(f"      write {file.path} ({file.mode}):", highlight=False)
                content = _redact_token(file.content) if file.secret else file.content
                for line in content.rstrip("\n").splitlines():
                    console.print(
                        f"        │ {line}", markup=False, highlight=False, soft_wrap=True
                    )
            for command in step.commands:
                console.print(
                    f"      run (as root): {command}", markup=False, highlight=False, soft_wrap=True
                )
    changes = len(steps.changes)
    console.print(f"{changes} step(s) would change something" if changes else "nothing to change")


def _redact_token(content: str) -> str:
    return "\n".join(
        "token: <the join token, from the first server>" if line.startswith("token:") else line
        for line in content.splitlines()
    )


@app.command()
def up(
    inventory: InventoryOption = Path("cluster.yaml"),
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help="kubeconfig to merge the cluster into [default: $KUBECONFIG or ~/.kube/config]"
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=10, help="seconds to wait for the API and nodes")
    ] = 300,
) -> None:
    """Install or update K3s on every node: the first server, then the other servers, the
    load balancer, the agents (in parallel); merge the kubeconfig; list the nodes. Rerun it
    any time: what is already right is left alone."""
    cluster = _load(inventory)
    path = kubeconfig or runner.default_kubeconfig()
    result = _run(runner.up(cluster, _report, path, timeout))
    print_nodes(result.nodes)
    if not result.changed and not result.kubeconfig_changed:
        console.print("[green]nothing changed[/green]: the cluster already matches the inventory")
    else:
        console.print(f"[green]{len(result.changed)} host(s) changed[/green]")
    console.print(f"kubectl --kubeconfig {path} --context {cluster.cluster.name} get nodes")


def print_nodes(nodes: list[NodeStatus]) -> None:
    grid = Table()
    for column in ("NAME", "STATUS", "ROLES", "VERSION", "INTERNAL-IP"):
        grid.add_column(column)
    for node in sorted(nodes, key=lambda n: n.name):
        status = "[green]Ready[/green]" if node.ready else "[red]NotReady[/red]"
        grid.add_row(node.name, status, node.roles, node.version, node.internal_ip)
    console.print(grid)


@app.command()
def status(inventory: InventoryOption = Path("cluster.yaml")) -> None:
    """The nodes as the Kubernetes API sees them (asked on a server over SSH)."""
    cluster = _load(inventory)
    nodes = _run(runner.status(cluster))
    print_nodes(nodes)
    known = {n.name for n in nodes}
    missing = [n.name for n in cluster.nodes if n.name not in known]
    if missing:
        console.print(f"[yellow]not in the cluster yet[/yellow]: {', '.join(missing)}")
    if missing or not all(n.ready for n in nodes):
        raise typer.Exit(1)


@app.command()
def down(
    inventory: InventoryOption = Path("cluster.yaml"),
    yes: Yes = False,
    stop_only: Annotated[
        bool, typer.Option(help="stop K3s (k3s-killall.sh) but keep it installed")
    ] = False,
    delete_snapshots: Annotated[
        bool,
        typer.Option(help=f"do not keep the servers' etcd snapshots in {runner.KEPT_SNAPSHOTS}"),
    ] = False,
) -> None:
    """Uninstall K3s from every node, agents first (the cluster and its data are deleted;
    the servers' etcd snapshots are kept in /var/lib/rancher/sugang-snapshots unless
    --delete-snapshots)."""
    cluster = _load(inventory)
    what = "stop K3s on" if stop_only else "UNINSTALL K3s and delete all cluster data on"
    if not yes and not typer.confirm(
        f"{what} {len(cluster.nodes)} node(s): {', '.join(n.name for n in cluster.nodes)}?"
    ):
        raise typer.Exit(1)
    _run(runner.down(cluster, _report, stop_only, keep_snapshots=not delete_snapshots))
    console.print("[green]done[/green]")


DrainTimeout = Annotated[
    float, typer.Option("--drain-timeout", min=10, help="seconds a drain may take")
]
ForceDrain = Annotated[
    bool,
    typer.Option(
        "--force",
        help="drain also pods that no controller manages (kubectl drain --force: they are "
        "deleted and not recreated)",
    ),
]


@app.command()
def remove(
    node: Annotated[str, typer.Argument(help="the node's name in the inventory")],
    inventory: InventoryOption = Path("cluster.yaml"),
    drain_timeout: DrainTimeout = 300,
    force: ForceDrain = False,
    yes: Yes = False,
) -> None:
    """Take a node out of the cluster: drain it, delete it (K3s removes a server's etcd
    member and the node's password, so a rebuilt machine of the same name can join), and
    uninstall K3s on it. A server is refused when etcd would lose its majority; nothing is
    changed then. Take the node out of the inventory afterwards."""
    cluster = _load(inventory)
    try:
        target = cluster.node(node)
    except InventoryError as error:
        errors.print(str(error), highlight=False)
        raise typer.Exit(2) from None
    if not yes and not typer.confirm(
        f"drain {node} ({target.role}), delete it from the cluster and uninstall K3s there?"
    ):
        raise typer.Exit(1)
    uninstalled = _run(
        maintenance.remove(cluster, node, DrainOptions(drain_timeout, force), _report)
    )
    if not uninstalled:
        console.print(
            f"[yellow]{node} is out of the cluster, but K3s is still installed there[/yellow]: "
            "wipe the machine before it is used again"
        )
    lb = " (the load balancer still lists it until then)" if cluster.load_balancer else ""
    edit = (
        "replace it in {} with a new server (HA wants an odd number of servers)"
        if target.role is Role.SERVER and cluster.cluster.ha
        else "take it out of {}"
    ).format(inventory)
    console.print(
        f"[green]{node} removed[/green]: {edit}, and run `sugang cluster up`{lb}",
        highlight=False,
    )


@app.command()
def upgrade(
    version: Annotated[str, typer.Option("--version", help="the K3s release, e.g. v1.34.2+k3s1")],
    inventory: InventoryOption = Path("cluster.yaml"),
    drain_timeout: DrainTimeout = 300,
    force: ForceDrain = False,
    timeout: Annotated[
        float, typer.Option(min=10, help="seconds to wait for each node to be Ready again")
    ] = 300,
) -> None:
    """Upgrade K3s node by node: the servers one at a time, then the agents, each cordoned
    and drained first and uncordoned once Ready at the new version. One minor version at a
    time; no downgrades. Rerun it after a failure: it continues where it stopped.
    Air-gapped, put the new k3s binary at airgap.k3s_binary first."""
    cluster = _load(inventory)
    upgraded = _run(
        maintenance.upgrade(cluster, version, DrainOptions(drain_timeout, force), _report, timeout)
    )
    if upgraded:
        console.print(f"[green]{len(upgraded)} node(s) upgraded to {version}[/green]")
    else:
        console.print(f"[green]every node already runs {version}[/green]")


@app.command()
def backup(
    inventory: InventoryOption = Path("cluster.yaml"),
    output: Annotated[Path, typer.Option(help="where the snapshot is copied to")] = Path(
        "snapshots"
    ),
    name: Annotated[str, typer.Option(help="the snapshot's name prefix")] = "sugang",
) -> None:
    """Take an etcd snapshot now (`k3s etcd-snapshot save`) on a server and copy it here,
    with the server token beside it (FILE.token, 0600: a restore onto new machines needs
    it). HA clusters only."""
    cluster = _load(inventory)
    try:
        saved = _run(maintenance.backup(cluster, output, name, _report))
    except OSError as error:  # here, on the operator's machine
        errors.print(f"cannot keep the snapshot in {output}: {error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]saved[/green] {saved}", highlight=False)


@app.command()
def restore(
    snapshot: Annotated[Path, typer.Argument(help="a snapshot file `backup` copied here")],
    inventory: InventoryOption = Path("cluster.yaml"),
    yes: Yes = False,
    timeout: Annotated[
        float, typer.Option(min=10, help="seconds to wait for each server's API")
    ] = 300,
) -> None:
    """Put the cluster back to a snapshot (K3s's cluster reset): K3s stops on every server,
    the first server resets etcd to the snapshot, the others' etcd data is moved aside and
    they rejoin. Everything changed since the snapshot is lost."""
    cluster = _load(inventory)
    if not yes and not typer.confirm(
        f"restore {snapshot.name} onto {len(cluster.servers)} server(s)? The API is down "
        "meanwhile, and what changed since the snapshot is lost"
    ):
        raise typer.Exit(1)
    _run(
        maintenance.restore(cluster, snapshot, _report, timeout),
        "A rerun starts the restore again from the top. Before that, see what state the "
        "servers are in (docs/cluster.md, section 8: restore), or finish by hand: "
        "`systemctl start k3s` on the first server, then on the others.",
    )
    nodes = _run(runner.status(cluster))
    print_nodes(nodes)
    console.print(f"[green]restored[/green] {snapshot.name}", highlight=False)


@images.command("import")
def images_import(
    archive: Annotated[
        Path, typer.Argument(help="an image archive (docker save; .tar, .tar.gz, .tar.zst…)")
    ],
    inventory: InventoryOption = Path("cluster.yaml"),
    node: Annotated[
        list[str] | None,
        typer.Option(metavar="NODE", help="only this node (repeat for more); default: all"),
    ] = None,
) -> None:
    """Copy an image archive into every node's /var/lib/rancher/k3s/agent/images/ (K3s imports
    and pins what is there when it starts: keep it there) and import it now where K3s runs
    (`k3s ctr images import`), pinned. No registry is needed. A node that already has the same
    file is not sent it again."""
    cluster = _load(inventory)
    known = [n.name for n in cluster.nodes]
    unknown = sorted(set(node or []) - set(known))
    if unknown:
        errors.print(f"no node {', '.join(unknown)} in {inventory}: {', '.join(known)}")
        raise typer.Exit(2)
    try:
        found = read_archive(archive)
    except ArchiveError as error:
        errors.print(str(error), style="red", highlight=False)
        raise typer.Exit(2) from None
    names = node or known
    local = [image for image in found.images if image.startswith("localhost/")]
    if local:
        errors.print(
            f"[yellow]note[/yellow]: {', '.join(local)}: podman and buildah name an image "
            "without a registry localhost/…, and the kit's pods ask for docker.io/library/… "
            "(`make image` tags it so)",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"{archive.name}: {', '.join(found.images) or 'images not listed in the archive'} "
        f"({found.size / 2**20:.1f} MiB) → {len(names)} node(s)",
        highlight=False,
    )
    with Progress(
        TextColumn("[cyan]{task.description:>16}[/cyan]"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
    ) as bars:
        tasks = {name: bars.add_task(name, total=found.size) for name in names}
        done = _run(
            import_archive(
                cluster,
                found,
                names,
                lambda name, sent, _: bars.update(tasks[name], completed=sent),
            )
        )
    for result in sorted(done, key=lambda r: r.node):
        sent = "copied" if result.uploaded else "already there"
        now = (
            "imported and pinned"
            if result.imported
            else "K3s not installed yet: it imports the file when it starts"
        )
        _report(result.node, f"{sent} ({IMAGES_DIR}); {now}")
