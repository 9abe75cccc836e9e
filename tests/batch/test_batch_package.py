"""bem batch package: the archive's wheels fit the target, and it scores the seed example."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import predict
from bem.batch import package
from bem.batch.cli import batch_group
from budget_matcher.contract import SEED_EXAMPLE
from budget_matcher.scoring import score_payload


def test_tag_problems_flags_wheels_of_another_python_or_platform() -> None:
    tags = {
        "numpy-1.26.4.dist-info": ["cp312-cp312-manylinux_2_17_x86_64"],
        "pytz-2026.6.dist-info": ["py2-none-any", "py3-none-any"],
        "old-1.0.dist-info": ["cp311-cp311-manylinux2014_x86_64"],
        "mac-1.0.dist-info": ["cp312-cp312-macosx_11_0_arm64"],
        "stable-1.0.dist-info": ["cp39-abi3-manylinux_2_28_x86_64"],
    }

    problems = package.tag_problems(tags, "3.12", package.DEFAULT_PLATFORMS)

    assert [p.split(":")[0] for p in problems] == ["old-1.0.dist-info", "mac-1.0.dist-info"]


def test_platforms_for_refuses_an_unknown_architecture() -> None:
    assert package.platforms_for("arm64") == package.ARM_PLATFORMS
    with pytest.raises(package.PackageError, match="unknown architecture"):
        package.platforms_for("sparc")


@pytest.mark.slow
def test_batch_package_archive_fits_python312_and_scores_the_seed(tmp_path: Path) -> None:
    out = tmp_path / "environment.tar.gz"

    result = CliRunner().invoke(batch_group, ["package", "--python", "3.12", "--out", str(out)])

    assert result.exit_code == 0, result.output
    expected = score_payload(SEED_EXAMPLE, predict.load_model()).items[0]["score"]
    assert f"seed example score {expected}" in result.output
    with tarfile.open(out) as archive:
        names = archive.getnames()
        link = archive.getmember("./bin/python")
    assert link.issym() and link.linkname == "/usr/bin/python3.12"
    assert "./pyvenv.cfg" in names
    assert any(n.startswith("./lib/python3.12/site-packages/sklearn/") for n in names)
    assert not any("/pyspark/" in n for n in names)  # the cluster brings its own
    wheels = [n for n in names if n.endswith(".dist-info/WHEEL")]
    assert len(wheels) >= 11
