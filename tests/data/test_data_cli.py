"""`bem data` and the history options of `bem train`/`bem evaluate`, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.model.identity import read_card
from tests.data.conftest import MAPPING, Rows, write_csv
from tests.data.their_history import day_first


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_data_check_reports_their_history_by_field(
    tmp_path: Path, their_csv: tuple[Path, list[int]]
) -> None:
    path, broken = their_csv
    (tmp_path / "mapping.toml").write_text(MAPPING)
    code, out, err = _run(
        "data",
        "check",
        str(path),
        "--columns",
        str(tmp_path / "mapping.toml"),
        "--dates",
        "dmy",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["unreadable_rows"] == len(broken)
    assert {p["field"] for p in report["problems"]} == {
        "expensed_amount_itemization",
        "start_datetime_trips",
    }
    assert report["read"].endswith("semicolon")


def test_data_check_errors_are_one_line_with_the_fix(tmp_path: Path, history_rows: Rows) -> None:
    rows = [
        {k: (day_first(v) if "date" in k or "trips" in k else v) for k, v in r.items()}
        for r in history_rows
    ]
    path = write_csv(rows, tmp_path / "dmy.csv")
    for command in (
        ["data", "check", str(path)],
        ["train", "--data", str(path)],
        ["evaluate", "--data", str(path)],
    ):
        code, _, err = _run(*command)
        assert code == 1
        assert err.startswith("Error: date '") and err.count("\n") == 1, err
        assert "--dates dmy" in err


def test_data_template_and_payloads(tmp_path: Path) -> None:
    template = tmp_path / "t.csv"
    assert _run("data", "template", "--out", str(template))[0] == 0
    code, out, err = _run("data", "payloads", str(template), "--user", "u1")
    assert code == 0, err
    payload = json.loads(out)
    assert [item["itemization_id"] for item in payload["all_user_expense_lineitems"]] == [
        "4659496",
        "4659497",
    ]


@pytest.mark.slow
def test_train_on_their_history_writes_a_new_versioned_model(
    tmp_path: Path, their_csv: tuple[Path, list[int]], history_rows: Rows
) -> None:
    path, broken = their_csv
    (tmp_path / "mapping.toml").write_text(MAPPING)
    record = tmp_path / "model"
    record.mkdir()
    (record / "model.json").write_text(json.dumps({"version": "1.3.0"}))
    env = {"BEM_MODEL_DIR": str(record), "BEM_MODELS_DIR": str(tmp_path / "models")}
    code, out, err = _run(
        "train",
        "--data",
        str(path),
        "--columns",
        str(tmp_path / "mapping.toml"),
        "--dates",
        "dmy",
        "--candidates",
        "quick",
        "--folds",
        "3",
        "--threads",
        "1",
        "--quiet",
        "--report-dir",
        str(tmp_path / "reports"),
        env=env,
    )
    assert code == 0, err
    assert "invalid_amount in expensed_amount_itemization" in err
    assert "harsher" not in out  # with --data only the user's data unless asked
    card = read_card(tmp_path / "models" / "1.4.0")
    assert card["training_data"]["rows"] == len(history_rows) - len(broken)
    assert set(card["feature_importance"]["values"]) == set(card["features"])
    assert json.loads((record / "model.json").read_text()) == {"version": "1.3.0"}
    assert "bem model promote" in err


def test_data_rerun_commands_repeat_the_users_own_options(
    tmp_path: Path, their_csv: tuple[Path, list[int]]
) -> None:
    path, _ = their_csv
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING)
    code, _, err = _run(
        "data", "check", str(path), "--columns", str(mapping), "--max-invalid", "0.1"
    )
    assert code == 1
    assert err.rstrip().endswith(
        f"re-run: bem data check {path} --columns {mapping} --max-invalid 0.1 --dates dmy"
    ), err
    code, _, err = _run("train", "--data", str(path), "--columns", str(mapping), "--dates", "mdy")
    assert code == 1 and err.count("\n") == 1
    assert f"see: bem data check {path} --columns {mapping} --dates mdy" in err


def test_data_check_names_the_features_each_missing_column_costs(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [{k: v for k, v in r.items() if k != "actual_cost_budget"} for r in history_rows]
    path = write_csv(rows, tmp_path / "h.csv")
    code, out, err = _run("data", "check", str(path), "--json")
    assert code == 0, err
    lost = json.loads(out)["missing_optional"]["actual_cost_budget"]
    assert lost == ["amount_rel_diff_actual", "amount_log_ratio_actual"]
    code, _, err = _run("data", "check", str(path))
    assert "optional column absent: actual_cost_budget (costs amount_rel_diff_actual" in err


def test_train_refuses_one_user_or_one_class_in_one_line(tmp_path: Path) -> None:
    one_user = tmp_path / "one.csv"
    one_user.write_text(
        "user_id,budget_id,itemization_id,is_match\nu,b1,i1,1\nu,b1,i2,0\nu,b2,i2,1\n"
    )
    code, _, err = _run("train", "--data", str(one_user), "--quiet")
    errors = [line for line in err.splitlines() if line.startswith("Error")]
    assert code == 1 and len(errors) == 1 and "two users" in errors[0], err
    assert "Traceback" not in err
    all_matches = tmp_path / "all.csv"
    all_matches.write_text("user_id,budget_id,itemization_id\nu,b1,i1\nv,b2,i2\n")
    code, _, err = _run("train", "--data", str(all_matches), "--quiet")
    assert code == 1 and "non-matches too" in err and "Traceback" not in err, err


def test_monitor_label_reads_a_records_export_in_their_words(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "employee;trip;line;status\ne1;b1;i1;Yes (manual)\ne1;b2;;\ne1;;i9;\ne1;b3;i3;maybe\n"
    )
    code, out, err = _run(
        "monitor", "label", str(path), "--db", f"sqlite:///{tmp_path / 'r.db'}",
        "--column", "employee=user_id", "--column", "trip=budget_id",
        "--column", "line=itemization_id", "--column", "status=is_match",
        "--labels", "Yes (manual)=1",
    )  # fmt: skip
    assert code == 0, err  # everything readable was stored
    assert "1 labels stored" in out and "1 rejected" in out
    assert "line 5: is_match 'maybe' is not a boolean" in err
