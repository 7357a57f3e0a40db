"""The `sugang` command line: one Typer sub-app per command group."""

import typer

from sugang.cli import bench, cluster, db, deploy, imports, registrar, seed, serve, users

app = typer.Typer(
    name="sugang",
    help="sugang: course registration that stays correct under a registration rush.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.command("seed")(seed.seed)
app.add_typer(users.app, name="users")
app.add_typer(registrar.app, name="registrar")
app.add_typer(imports.app, name="import")
app.add_typer(bench.app, name="bench")
app.command("deploy")(deploy.deploy_command)
app.add_typer(cluster.app, name="cluster")


def main() -> None:
    app()
