"""`bem batch submit`: upload the job's artefacts to S3 and start it on EMR Serverless (boto3).

Artefacts under one S3 prefix: the dependency archive (`bem batch package`), the code zip
(`--py-files`), the driver script (`entry.py`), the model directory and the NLTK stopwords
(an archive unpacked as ./nltk_data). The Spark parameters make driver and executors run the
archive's interpreter (`PYSPARK_PYTHON=./environment/bin/python`) with one OpenMP thread.
`plan_job` only builds the request (printed by default); `check_application` (GetApplication:
the application's release must run Spark ≥ 4.0, for `applyInArrow`), `upload` and `start` run it.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bem.batch.codezip import REPO_ROOT, build_code_zip
from bem.batch.session import BASE_SETTINGS

ENTRY_SCRIPT = REPO_ROOT / "bem" / "batch" / "entry.py"
ENV_PYTHON = "./environment/bin/python"
MIN_SPARK = (4, 0)
# EMR release labels → the Spark they run: `emr-X.Y.Z` (X ≤ 7) ships Spark 3 or older; the AWS
# runtime for Apache Spark, `emr-spark-X.Y.Z`, starts at 8.0.0 with Spark 4.0.2.
_EMR_SPARK3 = re.compile(r"emr-([0-7])\.\d+\.\d+")
_EMR_SPARK4 = re.compile(r"emr-spark-(\d+)\.(\d+)\.\d+(-.*)?")


class SubmitError(Exception):
    """The job cannot run where it would be submitted."""


def release_spark(label: str) -> tuple[int, int] | None:
    """The (major, minor) Spark an EMR release label runs at least; None when unknown."""
    if _EMR_SPARK3.fullmatch(label):
        return (3, 0) if int(label[4]) >= 6 else (2, 4)
    newer = _EMR_SPARK4.fullmatch(label)
    if newer and int(newer.group(1)) >= 8:
        return (4, 0)
    return None


def check_application(emr: Any, application_id: str) -> str:
    """GetApplication: the application must be a Spark one whose release runs Spark ≥ 4.0
    (boto3 emr-serverless client injected); returns its release label."""
    application = emr.get_application(applicationId=application_id)["application"]
    label = str(application.get("releaseLabel", ""))
    if str(application.get("type", "")).upper() != "SPARK":
        raise SubmitError(f"application {application_id} is of type {application.get('type')}")
    spark = release_spark(label)
    if spark is None or spark < MIN_SPARK:
        known = "" if spark else " (a release label this command does not know)"
        raise SubmitError(
            f"application {application_id} runs release {label}{known}: the batch job needs "
            "Spark >= 4.0 (applyInArrow); create the application with --release-label "
            "emr-spark-8.0.0 or later"
        )
    return label


@dataclass
class JobPlan:
    """The uploads (local path → S3 URI) and the StartJobRun request that uses them."""

    uploads: dict[str, str] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)


def split_s3(uri: str) -> tuple[str, str]:
    """("bucket", "key/prefix") of an s3:// URI."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key.strip("/")


def spark_parameters(archive: str, code_zip: str, nltk_zip: str) -> str:
    """The sparkSubmitParameters: archives, py-files and the environment's interpreter."""
    settings = {
        "spark.archives": f"{archive}#environment,{nltk_zip}#nltk_data",
        "spark.submit.pyFiles": code_zip,
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": ENV_PYTHON,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": ENV_PYTHON,
        "spark.emr-serverless.driverEnv.BEM_NLTK_DATA": "./nltk_data",
        "spark.executorEnv.PYSPARK_PYTHON": ENV_PYTHON,
        "spark.executorEnv.BEM_NLTK_DATA": "./nltk_data",
        **BASE_SETTINGS,
    }
    return " ".join(f"--conf {key}={value}" for key, value in settings.items())


def plan_job(
    workdir: Path,
    archive: Path,
    model_dir: Path,
    s3_prefix: str,
    application_id: str,
    role_arn: str,
    entry_arguments: list[str],
    name: str = "bem-batch",
    nltk_data: Path = REPO_ROOT / "nltk_data",
) -> JobPlan:
    """Build the code and stopword zips in `workdir` and the request that runs the job."""
    prefix = s3_prefix.rstrip("/")
    code_zip = build_code_zip(workdir / "bem_batch_code.zip")
    nltk_zip = _zip_directory(nltk_data, workdir / "nltk_data.zip")
    plan = JobPlan()
    plan.uploads = {
        str(archive): f"{prefix}/{archive.name}",
        str(code_zip): f"{prefix}/{code_zip.name}",
        str(nltk_zip): f"{prefix}/{nltk_zip.name}",
        str(ENTRY_SCRIPT): f"{prefix}/entry.py",
    }
    for path in sorted(p for p in model_dir.iterdir() if p.is_file()):
        plan.uploads[str(path)] = f"{prefix}/model/{path.name}"
    parameters = spark_parameters(
        plan.uploads[str(archive)], plan.uploads[str(code_zip)], plan.uploads[str(nltk_zip)]
    )
    plan.request = {
        "applicationId": application_id,
        "executionRoleArn": role_arn,
        "name": name,
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": plan.uploads[str(ENTRY_SCRIPT)],
                "entryPointArguments": [*entry_arguments, "--model", f"{prefix}/model/"],
                "sparkSubmitParameters": parameters,
            }
        },
        "configurationOverrides": {
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": f"{prefix}/logs/"}}
        },
    }
    return plan


def _zip_directory(directory: Path, target: Path) -> Path:
    """Zip a directory's files with paths relative to it (unpacked by spark.archives)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(directory).as_posix())
    return target


def upload(s3: Any, plan: JobPlan) -> None:
    """Upload every artefact of the plan (boto3 S3 client injected)."""
    for local, uri in plan.uploads.items():
        bucket, key = split_s3(uri)
        s3.upload_file(local, bucket, key)


def start(emr: Any, plan: JobPlan) -> dict[str, Any]:
    """StartJobRun (boto3 emr-serverless client injected); returns AWS's answer."""
    answer = emr.start_job_run(**plan.request)
    return {key: answer[key] for key in ("applicationId", "jobRunId", "arn") if key in answer}
