"""The SparkSession for batch jobs: local mode settings that work on a laptop, or the cluster's.

Local mode: `local[2]` by default, UI and console progress off, 2 shuffle partitions, 1 GB of
driver memory, bound to 127.0.0.1, and the workers run this interpreter (`PYSPARK_PYTHON`),
so they import the same numpy, scikit-learn and model code as the driver. On a cluster
(`master=None`) the settings come from spark-submit / EMR and only the app name is set here.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from budget_matcher import config

DEFAULT_MASTER = "local[2]"
APP_NAME = "bem-batch"

# Everywhere: one BLAS/OpenMP thread per Python worker (Spark already runs one worker per
# core; scikit-learn's threads on top would only fight over the same cores).
BASE_SETTINGS: dict[str, str] = {
    "spark.executorEnv.OMP_NUM_THREADS": "1",
    "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
    "spark.executorEnv.MKL_NUM_THREADS": "1",
}

LOCAL_SETTINGS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.memory": "1g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def local_environment(python: str | None = None) -> dict[str, str]:
    """Environment variables a local session needs before the JVM starts."""
    interpreter = python or sys.executable
    return {
        "PYSPARK_PYTHON": interpreter,
        "PYSPARK_DRIVER_PYTHON": interpreter,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def get_session(master: str | None = None, settings: dict[str, str] | None = None) -> Any:
    """A SparkSession: local mode when `master` starts with "local", else the cluster's.

    `master` defaults to $BEM_SPARK_MASTER, then local[2]; "cluster" means: take the master
    from spark-submit.
    """
    from pyspark.sql import SparkSession

    chosen = master or config.env_str(config.ENV_SPARK_MASTER, DEFAULT_MASTER)
    builder = SparkSession.builder.appName(APP_NAME)
    if chosen.startswith("local"):
        for name, value in local_environment().items():
            os.environ.setdefault(name, value)
        builder = builder.master(chosen)
        for key, value in LOCAL_SETTINGS.items():
            builder = builder.config(key, value)
    for key, value in {**BASE_SETTINGS, **(settings or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
