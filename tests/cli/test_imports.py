"""`sugang import`."""

from pathlib import Path

from typer.testing import CliRunner

from sugang.cli import app

runner = CliRunner()


def test_import_reports_bad_rows_and_writes_nothing(db_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "departments.csv"
    bad.write_text("code,name_ko,name_en\nCSE,컴퓨터공학과,CS\nbad code!,이상함,Odd\n")
    result = runner.invoke(app, ["import", "departments", str(bad)], env=db_env)
    assert result.exit_code == 1
    assert "IMPORT_INVALID" in result.output and "row 3" in result.output
    good = tmp_path / "good.csv"
    good.write_text("code,name_ko,name_en\nCSE,컴퓨터공학과,CS\n")
    imported = runner.invoke(app, ["import", "departments", str(good)], env=db_env)
    assert imported.exit_code == 0 and "1 created" in imported.output
