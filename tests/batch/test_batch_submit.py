"""bem batch submit against a real moto server (S3 + EMR Serverless over HTTP)."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from bem.batch import entry, submit
from bem.batch.cli import batch_group

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/emr-serverless-job"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A stand-in dependency archive (submit uploads it as it is)."""
    path = tmp_path / "environment.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\n")
        tar.add(tmp_path / "pyvenv.cfg", arcname="pyvenv.cfg")
    return path


def _arguments(archive: Path, application: str) -> list[str]:
    return [
        "submit",
        "--application-id",
        application,
        "--role-arn",
        ROLE,
        "--s3-prefix",
        "s3://bem-jobs/rescore",
        "--archive",
        str(archive),
        "--budgets",
        "s3://bem-data/budgets/",
        "--items",
        "s3://bem-data/items/",
        "--out",
        "s3://bem-data/scores/",
    ]


def test_batch_submit_prints_the_request_without_running(archive: Path) -> None:
    result = CliRunner().invoke(batch_group, _arguments(archive, "00app"))

    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    driver = plan["start_job_run"]["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == "s3://bem-jobs/rescore/entry.py"
    assert driver["entryPointArguments"][:3] == ["score", "--budgets", "s3://bem-data/budgets/"]
    assert driver["entryPointArguments"][-2:] == ["--model", "s3://bem-jobs/rescore/model/"]
    parameters = driver["sparkSubmitParameters"]
    assert "spark.archives=s3://bem-jobs/rescore/environment.tar.gz#environment" in parameters
    assert "spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python" in parameters
    assert "spark.submit.pyFiles=s3://bem-jobs/rescore/bem_batch_code.zip" in parameters
    assert "s3://bem-jobs/rescore/model/model.json" in plan["uploads"].values()


def test_batch_submit_forwards_the_score_options_the_entry_script_reads(archive: Path) -> None:
    arguments = [*_arguments(archive, "00app"), "--form", "lean", "--no-inputs"]
    result = CliRunner().invoke(batch_group, arguments)

    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    forwarded = plan["start_job_run"]["jobDriver"]["sparkSubmit"]["entryPointArguments"]
    parsed = entry.parser().parse_args(forwarded)
    assert (parsed.form, parsed.with_inputs) == ("lean", False)
    with_inputs = CliRunner().invoke(batch_group, [*_arguments(archive, "00app"), "--inputs"])
    forwarded = json.loads(with_inputs.output)["start_job_run"]["jobDriver"]["sparkSubmit"]
    assert entry.parser().parse_args(forwarded["entryPointArguments"]).with_inputs is True
    assert parsed.budgets == "s3://bem-data/budgets/" and parsed.out == "s3://bem-data/scores/"


def _aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, str]:
    """S3 with the bucket `bem-jobs`, EMR Serverless with a Spark application (emr-7.9.0)."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_server)
    s3.create_bucket(Bucket="bem-jobs")
    emr = boto3.client("emr-serverless", region_name=REGION, endpoint_url=moto_server)
    # moto accepts only emr-X.Y.0 labels; the Spark 4 release on AWS is emr-spark-8.0.0.
    created = emr.create_application(name="bem-batch", releaseLabel="emr-7.9.0", type="SPARK")
    return s3, emr, created["applicationId"]


def _spark4_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto creates applications of `emr-X.Y.0` labels only (Spark 3 on AWS): the command's
    emr-serverless clients see the Spark 4 release, `emr-spark-8.0.0`, in GetApplication;
    every other call goes to moto unchanged."""
    original = boto3.session.Session.client

    def client(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        real = original(self, service, *args, **kwargs)
        if service != "emr-serverless":
            return real
        get_application = real.get_application

        def spark4(**request: Any) -> Any:
            answer = get_application(**request)
            answer["application"]["releaseLabel"] = "emr-spark-8.0.0"
            return answer

        real.get_application = spark4
        return real

    monkeypatch.setattr(boto3.session.Session, "client", client)


def test_batch_submit_uploads_and_starts_the_job_run(
    moto_server: str, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, emr, application = _aws(moto_server, monkeypatch)
    _spark4_release(monkeypatch)

    arguments = _arguments(archive, application)
    arguments += ["--max-pairs-per-user", "12345"]
    arguments += ["--run", "--region", REGION, "--endpoint-url", moto_server]
    result = CliRunner().invoke(batch_group, arguments)

    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["applicationId"] == application
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="bem-jobs")["Contents"]}
    assert {
        "rescore/environment.tar.gz",
        "rescore/bem_batch_code.zip",
        "rescore/nltk_data.zip",
        "rescore/entry.py",
        "rescore/model/model.json",
        "rescore/model/model.joblib",
    } <= keys
    run = emr.get_job_run(applicationId=application, jobRunId=answer["jobRunId"])["jobRun"]
    assert run["executionRole"] == ROLE
    driver = run["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == "s3://bem-jobs/rescore/entry.py"
    assert "PYSPARK_PYTHON=./environment/bin/python" in driver["sparkSubmitParameters"]
    assert entry.parser().parse_args(driver["entryPointArguments"]).max_pairs_per_user == 12345
    code = s3.get_object(Bucket="bem-jobs", Key="rescore/bem_batch_code.zip")["Body"].read()
    assert code[:2] == b"PK"


def test_batch_submit_refuses_an_application_whose_release_runs_spark_3(
    moto_server: str, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, emr, application = _aws(moto_server, monkeypatch)

    s3.create_bucket(Bucket="bem-old")
    arguments = [*_arguments(archive, application), "--run", "--region", REGION]
    arguments[arguments.index("s3://bem-jobs/rescore")] = "s3://bem-old/rescore"
    result = CliRunner().invoke(batch_group, [*arguments, "--endpoint-url", moto_server])

    assert result.exit_code == 1
    assert "emr-7.9.0" in result.output and "Spark >= 4.0" in result.output
    with pytest.raises(emr.exceptions.ResourceNotFoundException):  # moto: no run ever started
        emr.list_job_runs(applicationId=application)
    assert "Contents" not in s3.list_objects_v2(Bucket="bem-old")  # nothing uploaded


@pytest.mark.parametrize(
    ("label", "spark"),
    [
        ("emr-spark-8.0.0", (4, 0)),
        ("emr-spark-9.1.0", (4, 0)),
        ("emr-7.9.0", (3, 0)),
        ("emr-6.15.0", (3, 0)),
        ("emr-5.36.0", (2, 4)),
        ("emr-spark-8.0-preview", None),
        ("something-else", None),
    ],
)
def test_release_spark_reads_emr_release_labels(label: str, spark: tuple[int, int] | None) -> None:
    assert submit.release_spark(label) == spark
