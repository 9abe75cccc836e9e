"""Model identity: new versions per training run, promotion, and the build's refusal of a
work-tree model/ that differs from the one it ships."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.model.identity import (
    ModelIdentityError,
    identity,
    next_version,
    promote,
    working_tree_mismatch,
)
from bem.packaging.build import BuildFailed, BuildOptions, _model_to_ship, _stage_model


def _copy(src: Path, dest: Path, version: str | None = None) -> Path:
    shutil.copytree(src, dest)
    if version is not None:
        card = json.loads((dest / "model.json").read_text())
        card["version"] = version
        (dest / "model.json").write_text(json.dumps(card))
    return dest


def test_identity_next_version_is_after_every_card(tmp_path: Path, quick_model_dir: Path) -> None:
    _copy(quick_model_dir, tmp_path / "model", "1.3.0")
    _copy(quick_model_dir, tmp_path / "models" / "1.4.0", "1.4.0")
    assert next_version([tmp_path / "model", tmp_path / "models"]) == "1.5.0"
    assert next_version([tmp_path / "nothing"]) == "1.0.0"


def test_identity_promote_copies_and_checks_the_hash(tmp_path: Path, quick_model_dir: Path) -> None:
    record = _copy(quick_model_dir, tmp_path / "model", "1.3.0")
    (record / "model_lean.npz").write_bytes(b"stale export")
    candidate = _copy(quick_model_dir, tmp_path / "models" / "1.4.0", "1.4.0")
    ident = promote(candidate, record)
    assert ident["version"] == "1.4.0" == identity(record)["version"]
    assert not (record / "model_lean.npz").exists()
    (candidate / "model.joblib").write_bytes(b"tampered")
    with pytest.raises(ModelIdentityError, match="differs from its card"):
        promote(candidate, record)


def test_identity_promote_command_names_the_next_step(
    tmp_path: Path, quick_model_dir: Path
) -> None:
    record = _copy(quick_model_dir, tmp_path / "model", "1.3.0")
    candidate = _copy(quick_model_dir, tmp_path / "models" / "1.4.0", "1.4.0")
    result = CliRunner().invoke(
        main, ["model", "promote", str(candidate)], env={"BEM_MODEL_DIR": str(record)}
    )
    assert result.exit_code == 0, result.stderr
    assert "is now model 1.4.0" in result.stderr and "git commit" in result.stderr
    shown = CliRunner().invoke(main, ["model", "show", str(record)])
    assert json.loads(shown.stdout)["version"] == "1.4.0"


def test_build_refuses_a_work_tree_model_that_differs_from_the_shipped_one(
    tmp_path: Path, quick_model_dir: Path
) -> None:
    root, code = tmp_path / "repo", tmp_path / "code"
    _copy(quick_model_dir, root / "model", "1.4.0")
    _copy(quick_model_dir, code / "model", "1.3.0")
    message = working_tree_mismatch(root, code / "model")
    assert message is not None and "(version 1.4.0)" in message and "(version 1.3.0)" in message
    with pytest.raises(BuildFailed, match=r"commit it .* or ship the work tree's with --model-dir"):
        _model_to_ship(BuildOptions(root=root, log=lambda _: None), code)
    # another revision's build ships that revision's model whatever the work tree holds
    older = BuildOptions(root=root, revision="ba693c2", log=lambda _: None)
    assert _model_to_ship(older, code)[1]["version"] == "1.3.0"
    shutil.rmtree(code / "model")
    _copy(root / "model", code / "model")
    logged: list[str] = []
    model_dir, ident = _model_to_ship(BuildOptions(root=root, log=logged.append), code)
    assert model_dir == code / "model" and ident["version"] == "1.4.0"
    assert "model 1.4.0 (threshold" in logged[0]


def test_build_of_another_revision_names_the_fix_when_its_features_differ(
    tmp_path: Path, quick_model_dir: Path
) -> None:
    model = _copy(quick_model_dir, tmp_path / "model", "1.2.0")
    card = json.loads((model / "model.json").read_text())
    card["features"] = card["features"][:-1]  # an older revision's feature list
    (model / "model.json").write_text(json.dumps(card))
    older = BuildOptions(root=tmp_path, revision="ba693c2", log=lambda _: None)
    with pytest.raises(BuildFailed, match=r"build it from a checkout of ba693c2"):
        _stage_model(older, model, tmp_path / "task")
    with pytest.raises(BuildFailed, match=r"model_feature_mismatch") as refused:
        _stage_model(BuildOptions(root=tmp_path, log=lambda _: None), model, tmp_path / "task")
    assert "checkout of" not in str(refused.value)
