"""Every environment variable the service reads, in one place.

Precedence everywhere: explicit argument > environment variable > default below.
"""

from __future__ import annotations

import os
from pathlib import Path

TASK_ROOT = Path(__file__).resolve().parent.parent

# Where the model artefacts live (model.json beside model.joblib / model_lean.npz).
ENV_MODEL_DIR = "BEM_MODEL_DIR"
DEFAULT_MODEL_DIR = TASK_ROOT / "model"

# Where `bem train` writes new candidate models (one models/<version>/ each); tooling only.
ENV_MODELS_DIR = "BEM_MODELS_DIR"
DEFAULT_MODELS_DIR = TASK_ROOT / "models"

# Which form of the model to serve: "auto" (pickle when scikit-learn imports, else lean),
# "sklearn" or "lean".
ENV_MODEL_FORM = "BEM_MODEL_FORM"
DEFAULT_MODEL_FORM = "auto"

# Tree evaluator of the lean form: "auto" (the compiled model_trees.so when the card lists it
# and it loads, else numpy), "compiled" (refuse to serve without it) or "numpy".
ENV_TREE_EVALUATOR = "BEM_TREE_EVALUATOR"
DEFAULT_TREE_EVALUATOR = "auto"

# Override of the decision threshold stored in model.json.
ENV_THRESHOLD = "BEM_THRESHOLD"

# How numeric dates and ambiguous amounts of requests are read (budget_matcher.conventions):
# "dmy", "mdy" or "ymd"; "comma" or "point". Unset: the model card's `reading`, as trained.
ENV_DATE_ORDER = "BEM_DATE_ORDER"
ENV_DECIMAL = "BEM_DECIMAL"

# NLTK data directory (stopwords) shipped beside the code.
ENV_NLTK_DATA = "BEM_NLTK_DATA"
DEFAULT_NLTK_DATA = TASK_ROOT / "nltk_data"

# Shared libraries preloaded at cold start.
ENV_LIB_DIR = "BEM_LIB_DIR"
DEFAULT_LIB_DIR = TASK_ROOT / "lib"

# Response format: "list" (seed-compatible, default) or "envelope".
ENV_RESPONSE_FORMAT = "BEM_RESPONSE_FORMAT"
DEFAULT_RESPONSE_FORMAT = "list"

# Bound on the characters of input/output copied into the per-request log line.
ENV_LOG_PAYLOAD_CHARS = "BEM_LOG_PAYLOAD_CHARS"
DEFAULT_LOG_PAYLOAD_CHARS = 2048

# Results store (monitoring): SQLAlchemy URL; unset = no store. Spool dir for faults.
ENV_RESULTS_DB_URL = "BEM_RESULTS_DB_URL"
ENV_RESULTS_SPOOL_DIR = "BEM_RESULTS_SPOOL_DIR"
DEFAULT_RESULTS_SPOOL_DIR = Path("/tmp/bem-spool")
# Bound on the spool's bytes; at the bound further rows are not spooled (see results_sink).
ENV_RESULTS_SPOOL_MAX_BYTES = "BEM_RESULTS_SPOOL_MAX_BYTES"
DEFAULT_RESULTS_SPOOL_MAX_BYTES = 100_000_000
# Result log lines for the CloudWatch-export path: "auto" (only rows the results database did
# not take, compressed), "gzip" (every row, compressed), "full" or "1" (every row as compact
# JSON, ~8x the bytes), "off" or "0".
ENV_RESULTS_LOG = "BEM_RESULTS_LOG"
DEFAULT_RESULTS_LOG = "auto"
# S3 results sink: "s3://bucket/prefix"; unset = off. One gzip JSON-lines object per answer.
ENV_RESULTS_S3_URI = "BEM_RESULTS_S3_URI"

# Live metrics: CloudWatch EMF on by default; DogStatsD "host:port" when set.
ENV_EMF_ENABLED = "BEM_EMF_ENABLED"
ENV_METRICS_NAMESPACE = "BEM_METRICS_NAMESPACE"
DEFAULT_METRICS_NAMESPACE = "BudgetExpenseMatcher"
ENV_DOGSTATSD = "BEM_DOGSTATSD"
# SMTP password for `bem monitor report --email-to` (never a command-line argument).
ENV_SMTP_PASSWORD = "BEM_SMTP_PASSWORD"
# The `service` dimension of the live metrics (Powertools' variable; default SERVICE_NAME).
ENV_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"

# Build tooling: cache of wheels (~/.cache/bem by default) and target interpreters
# (BEM_TARGET_PYTHON_3_12=/path/to/python3.12 overrides the pyenv lookup).
ENV_BUILD_CACHE = "BEM_BUILD_CACHE"
DEFAULT_BUILD_CACHE = Path.home() / ".cache" / "bem"
ENV_TARGET_PYTHON_PREFIX = "BEM_TARGET_PYTHON_"


def env_str(name: str, default: str) -> str:
    """The environment value of `name`, or `default` when unset or empty."""
    value = os.environ.get(name, "")
    return value if value else default


def env_int(name: str, default: int) -> int:
    """The environment value of `name` as an integer, or `default` when unset or unreadable."""
    try:
        return int(env_str(name, str(default)))
    except ValueError:
        return default


def env_path(name: str, default: Path) -> Path:
    """The environment value of `name` as a path, or `default`."""
    return Path(env_str(name, str(default)))


# EMF metric names the handler emits (namespace above, dimensions service + model_version).
# The deployment's rollback alarm (deploy/template.yaml) watches ErrorItems against PairsScored.
METRIC_PAIRS_SCORED = "PairsScored"
METRIC_ERROR_ITEMS = "ErrorItems"
METRIC_DIMENSION_SERVICE = "service"
METRIC_DIMENSION_MODEL_VERSION = "model_version"

# Deployment tooling (`bem deploy`; never read inside the Lambda).
ENV_DEPLOY_FUNCTION_NAME = "BEM_FUNCTION_NAME"
ENV_DEPLOY_REGIONS = "BEM_DEPLOY_REGIONS"  # comma-separated; the first is the primary
ENV_DEPLOY_ROLE_ARN = "BEM_DEPLOY_ROLE_ARN"
ENV_DEPLOY_BUCKET = "BEM_DEPLOY_BUCKET"  # for zips over the direct-upload limit
ENV_AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"  # boto3's own; set to a moto server in tests
DEFAULT_DEPLOY_REGIONS = "us-west-2"
DEFAULT_ALIAS = "live"

# Local emulation (tooling only): the target interpreter for `bem invoke`/`bem serve`, the
# cache of unpacked zips and runtime dirs, and the zip to run.
ENV_LAMBDA_PYTHON = "BEM_LAMBDA_PYTHON"
ENV_CACHE_DIR = "BEM_CACHE_DIR"
ENV_DEPLOY_ZIP = "BEM_DEPLOY_ZIP"
DEFAULT_DEPLOY_ZIP = Path("deploy.zip")

# Batch jobs on Spark (tooling only): the master ("local[2]" by default; "cluster" = the one
# spark-submit gives), and the S3 prefix `bem batch submit` uploads code, model and archive to.
ENV_SPARK_MASTER = "BEM_SPARK_MASTER"
ENV_BATCH_S3_PREFIX = "BEM_BATCH_S3_PREFIX"
