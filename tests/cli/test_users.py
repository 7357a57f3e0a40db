"""`sugang users create`."""

from typer.testing import CliRunner

from sugang.cli import app

runner = CliRunner()


def test_users_create_makes_a_professor(db_env: dict[str, str]) -> None:
    env = {**db_env, "SUGANG_NEW_USER_PASSWORD": "professor-password"}
    result = runner.invoke(
        app,
        ["users", "create", "--username", "prof.han", "--role", "professor", "--name", "한교수"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    duplicate = runner.invoke(
        app, ["users", "create", "--username", "prof.han", "--role", "professor"], env=env
    )
    assert duplicate.exit_code == 1 and "CONFLICT" in duplicate.output
    student_role = runner.invoke(
        app, ["users", "create", "--username", "x", "--role", "student"], env=env
    )
    assert student_role.exit_code == 2
