"""Packaging pieces without a full build: targets, trim, zip, size report, verify checks."""

from __future__ import annotations

import random
import subprocess
import zipfile
from pathlib import Path

import pytest

from bem.packaging import assemble, report, targets, trim, verify
from bem.packaging.targets import BuildTarget, UnsupportedTarget
from tests.packaging.conftest import REPO_ROOT


def test_target_sklearn_on_python311_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedTarget, match=r"manylinux2014.*scikit-learn 1\.9\.1"):
        BuildTarget(python="3.11", runtime="sklearn")


def test_target_platform_tags_follow_the_lambda_glibc() -> None:
    assert BuildTarget(python="3.11").platforms == ("manylinux2014_x86_64",)
    assert BuildTarget(python="3.12", arch="arm64").platforms == (
        "manylinux2014_aarch64",
        "manylinux_2_28_aarch64",
        "manylinux_2_34_aarch64",
    )


def test_target_requirements_apply_per_python_overrides() -> None:
    default = targets.requirements(BuildTarget(), REPO_ROOT)
    assert "numpy==1.26.4" in default
    assert not any(pin.startswith(("scikit-learn", "sqlalchemy")) for pin in default)
    assert "numpy==2.4.6" in targets.requirements(BuildTarget(python="3.13"), REPO_ROOT)
    assert "rapidfuzz==3.13.0" in targets.requirements(BuildTarget(python="3.11"), REPO_ROOT)


def test_target_requirements_add_sklearn_and_results_db_sets() -> None:
    pins = targets.requirements(BuildTarget(runtime="sklearn", with_results_db=True), REPO_ROOT)
    names = {pin.split("==")[0] for pin in pins}
    assert {"scikit-learn", "scipy", "joblib", "sqlalchemy", "pg8000"} <= names
    assert "matplotlib" not in names and "tqdm" not in names


def test_import_names_include_distribution_libs_names() -> None:
    names = targets.import_names(["scikit-learn==1.9.1", "aws-lambda-powertools==3.37.0"])
    assert {"sklearn", "scikit_learn", "aws_lambda_powertools"} <= set(names)


def _fake_deps(root: Path) -> Path:
    files = {
        "keepme/__init__.py": "",
        "keepme/tests/test_x.py": "",
        "keepme/core.h": "",
        "keepme/data/table.bin": "x",
        "keepme-1.0.dist-info/METADATA": "Name: keepme",
        "keepme-1.0.dist-info/RECORD": "keepme/__init__.py,,\n",
        "keepme-1.0.dist-info/LICENSE": "MIT",
        "keepme-1.0.dist-info/WHEEL": "",
        "unused/__init__.py": "",
        "unused-2.0.dist-info/RECORD": "unused/__init__.py,,\n",
        "keepme.libs/libfoo.so": "elf",
        "single.py": "",
        "bin/tool": "",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_trim_drops_unimported_packages_whole_and_junk_inside_kept_ones(tmp_path: Path) -> None:
    deps = _fake_deps(tmp_path / "deps")
    result = trim.trim(deps, {"keepme", "single"}, interpreter=None, strip=False)
    assert result.dropped_packages == ["unused"]
    left = sorted(p.relative_to(deps).as_posix() for p in deps.rglob("*") if p.is_file())
    assert left == [
        "keepme-1.0.dist-info/LICENSE",
        "keepme-1.0.dist-info/METADATA",
        "keepme.libs/libfoo.so",
        "keepme/__init__.py",
        "keepme/data/table.bin",
        "single.py",
    ]


def test_trim_keeps_dev_only_files_the_trace_loaded(tmp_path: Path) -> None:
    simd = tmp_path / "numpy/core/_simd.cpython-312-x86_64-linux-gnu.so"
    f2py = tmp_path / "numpy/f2py/__init__.py"
    for path in (simd, f2py):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    removed = trim.TrimReport()
    trim.drop_dev_only(tmp_path, {f2py.resolve()}, removed)
    assert not simd.exists() and f2py.exists()


def test_trim_imported_top_levels_maps_files_to_packages(tmp_path: Path) -> None:
    modules = {
        "numpy": str(tmp_path / "numpy/__init__.pyc"),
        "typing_extensions": str(tmp_path / "typing_extensions.pyc"),
        "json": "/usr/lib/python3.12/json/__init__.py",
        "sys": None,
    }
    assert trim.imported_top_levels(modules, tmp_path) == {"numpy", "typing_extensions"}


def test_compile_bytecode_sourceless_is_deterministic_and_loadable(tmp_path: Path) -> None:
    interpreter = targets.find_interpreter("3.12")
    for name in ("a", "b"):
        package = tmp_path / name / "pkg"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("VALUE = 41 + 1\n")
        trim.compile_bytecode(tmp_path / name, interpreter, "sourceless", "/var/task")
        assert not (package / "__init__.py").exists()
    first = (tmp_path / "a/pkg/__init__.pyc").read_bytes()
    assert first == (tmp_path / "b/pkg/__init__.pyc").read_bytes()
    done = subprocess.run(
        [
            str(interpreter),
            "-I",
            "-S",
            "-B",
            "-c",
            "import sys; sys.path[:0] = ['.']; import pkg; print(pkg.VALUE)",
        ],
        cwd=tmp_path / "a",
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "42", done.stderr


def test_write_zip_is_sorted_fixed_time_and_mode_and_byte_identical(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in ("z.py", "a/b.txt", "m/n/o.bin"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(name * 100)
    (tree / "z.py").chmod(0o700)
    assemble.write_zip(tmp_path / "one.zip", [(tree, "")], epoch=1_700_000_000)
    (tree / "a/b.txt").touch()  # a new mtime must not change the bytes
    assemble.write_zip(tmp_path / "two.zip", [(tree, "")], epoch=1_700_000_000)
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["a/b.txt", "m/n/o.bin", "z.py"]
    assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_write_zip_layer_prefix_and_duplicate_refusal(tmp_path: Path) -> None:
    tree = tmp_path / "deps"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg/__init__.py").write_text("")
    assemble.write_zip(tmp_path / "layer.zip", [(tree, "python/")], epoch=0)
    with zipfile.ZipFile(tmp_path / "layer.zip") as archive:
        assert archive.namelist() == ["python/pkg/__init__.py"]
    with pytest.raises(ValueError, match="two trees"):
        assemble.write_zip(tmp_path / "dup.zip", [(tree, ""), (tree, "")], epoch=0)


def test_size_report_groups_packages_and_checks_limits(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg/data.bin").write_bytes(bytes(range(256)) * 400)
    (tree / "module.pyc").write_bytes(b"\0" * 1000)
    path = tmp_path / "deploy.zip"
    assemble.write_zip(path, [(tree, "")], epoch=0)
    sizes = report.measure([path])
    by_package = {p.package: p for p in sizes.packages}
    assert by_package["pkg"].unzipped == 102_400 and by_package["module.py"].unzipped == 1000
    assert sizes.total_unzipped == 103_400
    assert "deploy.zip" in report.render(sizes)
    assert report.check_limits(sizes) == []
    with pytest.raises(report.OverLimit, match="direct-upload limit"):
        report.check_limits(sizes, zip_limit=100)
    with pytest.raises(report.OverLimit, match="unzipped size 103,400 B"):
        report.check_limits(sizes, unzipped_limit=1000)
    warnings = report.check_limits(sizes, zip_limit=100, allow_s3=True)
    assert len(warnings) == 1 and "S3" in warnings[0]


@pytest.mark.parametrize(
    "response",
    [
        [],
        [{"budget_id": "309366", "itemization_id": "4659496", "score": None, "error": {}}],
        [{"budget_id": "1", "itemization_id": "4659496", "score": 0.2}],
        {"statusCode": 200},
    ],
)
def test_verify_check_response_refuses_wrong_answers(response: object) -> None:
    with pytest.raises(verify.VerifyFailed):
        verify.check_response(response)


def test_verify_check_response_accepts_the_seed_answer() -> None:
    item = {"budget_id": "309366", "itemization_id": "4659496", "score": 0.0213}
    assert verify.check_response([item]) == 0.0213


def test_trim_closure_follows_requires_dist_but_not_extras(tmp_path: Path) -> None:
    layout = {
        "db_driver-1.0.dist-info/METADATA": (
            "Name: db-driver\nRequires-Dist: date_util>=2\nRequires-Dist: fancy; extra == 'x'\n"
        ),
        "db_driver-1.0.dist-info/RECORD": "db_driver/__init__.py,,\n",
        "date_util-2.0.dist-info/METADATA": "Name: date-util\nRequires-Dist: zones\n",
        "date_util-2.0.dist-info/RECORD": "dateutil/__init__.py,,\n",
        "zones-1.0.dist-info/METADATA": "Name: zones\n",
        "zones-1.0.dist-info/RECORD": "zones.py,,\n",
        "fancy-1.0.dist-info/METADATA": "Name: fancy\n",
        "fancy-1.0.dist-info/RECORD": "fancy/__init__.py,,\n",
    }
    for name, text in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert trim.closure_top_levels(tmp_path, {"db-driver"}) == {"db_driver", "dateutil", "zones"}


def test_heldout_seed_comes_from_the_card_and_rows_have_the_feature_width() -> None:
    from bem.packaging import heldout
    from budget_matcher.features import FEATURE_NAMES

    card = {"training_data": {"generator": {"seed": 7}}}
    assert heldout.training_seed(card) == 7
    assert heldout.training_seed({}) == 0
    rows = heldout.heldout_features(card, 200)
    try:
        import bem.synth.users  # noqa: F401
    except ImportError:
        assert rows is None  # no generator: the proof uses threshold probes alone
    else:
        assert rows is not None and rows.shape == (200, len(FEATURE_NAMES))


def test_write_zip_deflate_cache_takes_identical_files_in_parallel(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    content = random.Random(0).randbytes(2_000_000)  # slow to deflate: threads overlap
    for index in range(16):
        (tree / f"pkg{index}").mkdir(parents=True)
        (tree / f"pkg{index}/data.bin").write_bytes(content)
    cache = tmp_path / "deflate"
    assemble.write_zip(tmp_path / "cold.zip", [(tree, "")], epoch=0, cache=cache)
    assemble.write_zip(tmp_path / "warm.zip", [(tree, "")], epoch=0, cache=cache)
    assert (tmp_path / "cold.zip").read_bytes() == (tmp_path / "warm.zip").read_bytes()
    assert len([p for p in cache.rglob("*") if p.is_file()]) == 1
    with zipfile.ZipFile(tmp_path / "warm.zip") as archive:
        assert archive.testzip() is None


def test_lean_export_of_the_build_refuses_a_pickle_its_card_does_not_vouch_for(
    tmp_path: Path,
) -> None:
    """`./build --model-dir` exports the pickle through the Lambda's verified loader."""
    import shutil

    import predict
    from bem.local.devzip import write_placeholder_model
    from bem.model.lean_export import export_model_dir

    directory = write_placeholder_model(tmp_path / "model", version="0.0.0-vouched")
    other = write_placeholder_model(tmp_path / "other", version="0.0.0-other")
    shutil.copy(other / "model.joblib", directory / "model.joblib")
    with pytest.raises(predict.ModelUnavailable) as refused:
        export_model_dir(directory, out_dir=tmp_path / "out")
    assert refused.value.code == "model_hash_mismatch"
    assert not (tmp_path / "out" / "model_lean.npz").exists()


def test_record_lib_files_lists_each_file_of_lib_with_its_hash(tmp_path: Path) -> None:
    import hashlib
    import json

    from bem.packaging.assemble import record_lib_files

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text(json.dumps({"version": "1"}))
    (tmp_path / "lib" / "sub").mkdir(parents=True)
    (tmp_path / "lib" / "libone.so.1").write_bytes(b"one")
    (tmp_path / "lib" / "sub" / "libtwo.so").write_bytes(b"two")
    (tmp_path / "lib" / "libstatic.a").write_bytes(b"!<arch>")
    record_lib_files(tmp_path)
    card = json.loads((tmp_path / "model" / "model.json").read_text())
    assert card["version"] == "1"
    assert card["lib_files"] == {
        "libone.so.1": {"sha256": hashlib.sha256(b"one").hexdigest(), "bytes": 3},
        "sub/libtwo.so": {"sha256": hashlib.sha256(b"two").hexdigest(), "bytes": 3},
    }
