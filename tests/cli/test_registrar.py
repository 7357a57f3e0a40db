"""`sugang registrar auto-enroll` and `rush-mode`."""

from typer.testing import CliRunner

from sugang.cli import app

runner = CliRunner()


def test_registrar_auto_enroll_command(db_env: dict[str, str]) -> None:
    runner.invoke(app, ["seed", "--demo"], env=db_env)
    result = runner.invoke(app, ["registrar", "auto-enroll", "--term", "2027-1"], env=db_env)
    assert result.exit_code == 0, result.output
    assert '"enrolled": 0' in result.output
    missing = runner.invoke(app, ["registrar", "auto-enroll", "--term", "1999-9"], env=db_env)
    assert missing.exit_code == 1 and "NOT_FOUND" in missing.output


def test_rush_mode_from_the_command_line(db_env: dict[str, str]) -> None:
    seeded = runner.invoke(
        app,
        ["seed", "--students", "3", "--courses", "2", "--hot", "1", "--seed", "8", "--rush-mode"],
        env=db_env,
    )
    assert seeded.exit_code == 0, seeded.output
    state = runner.invoke(app, ["registrar", "rush-mode", "--term", "SYN-8"], env=db_env)
    assert state.exit_code == 0 and '"rush_mode": true' in state.stdout
    changed = runner.invoke(
        app,
        [
            "registrar",
            "rush-mode",
            "--term",
            "SYN-8",
            "--off",
            "--mode",
            "adaptive",
            "--rate",
            "80",
        ],
        env=db_env,
    )
    assert changed.exit_code == 0, changed.output
    assert '"rush_mode": false' in changed.stdout and '"mode": "adaptive"' in changed.stdout
    bad_mode = runner.invoke(
        app, ["registrar", "rush-mode", "--term", "SYN-8", "--mode", "fast"], env=db_env
    )
    naive = runner.invoke(
        app,
        ["registrar", "rush-mode", "--term", "SYN-8", "--opens-at", "2027-02-15T10:00:00"],
        env=db_env,
    )
    assert bad_mode.exit_code == naive.exit_code == 2
