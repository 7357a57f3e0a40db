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


def test_users_update_resets_a_password_disables_and_changes_a_role(
    db_env: dict[str, str],
) -> None:
    env = {**db_env, "SUGANG_NEW_USER_PASSWORD": "old-password-1"}
    created = runner.invoke(
        app, ["users", "create", "--username", "reg.kim", "--role", "admin"], env=env
    )
    assert created.exit_code == 0, created.output

    reset = runner.invoke(
        app,
        ["users", "update", "reg.kim", "--password"],
        input="new-password-1\nnew-password-1\n",
        env=db_env,
    )
    demoted = runner.invoke(
        app, ["users", "update", "reg.kim", "--role", "professor", "--disable"], env=db_env
    )
    missing = runner.invoke(app, ["users", "update", "nobody", "--enable"], env=db_env)

    assert reset.exit_code == 0, reset.output
    assert demoted.exit_code == 0 and "professor, disabled" in demoted.output
    assert missing.exit_code == 1 and "no user" in missing.output
