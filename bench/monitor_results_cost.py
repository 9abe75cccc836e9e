"""What keeping the results costs per million scored pairs: log lines vs the S3 sink vs a
direct database connection, for answers of 20, 1,000 and 80,000 pairs.

Measured here, on simulated result rows (`bem.monitor.simulate`): the bytes per pair of the
compact result log lines (`results_sink.result_lines`, what CloudWatch ingests) and of the S3
sink's gzip JSON-lines object (`results_s3.encode_rows`), and the CPU milliseconds to encode
one answer each way. Priced with the public us-west-2 list prices below (stated, not fetched):
  - log lines:  CloudWatch Logs ingestion $0.50 per GB (+ $0.03 per GB-month stored);
  - S3 sink:    PUT $0.005 per 1,000; storage $0.023 per GB-month; a PUT from Lambda assumed to
                take 30 ms of billed duration (in-region; not measurable here);
                `ingest-s3` reads each object once (GET $0.0004 per 1,000);
  - direct DB:  the insert time per answer measured by bench/monitor_results_store.py against
                PostgreSQL on 127.0.0.1 (4 / 12 / 103 ms for 10 / 100 / 1,000 pairs, 2026-11),
                billed as Lambda duration, plus the fixed monthly cost of the database and the
                connection pooler that Lambda concurrency needs (RDS db.t4g.micro $11.68 and
                RDS Proxy 2 vCPU minimum $21.90 a month), which does not scale with pairs.
Lambda duration at the deployed 1.7275 GB costs $0.0000166667 per GB-second.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/monitor_results_cost.py
"""

from __future__ import annotations

import time
from datetime import date

from bem.monitor.simulate import simulate_history
from budget_matcher.results_s3 import encode_rows
from budget_matcher.results_sink import result_lines

SIZES = (20, 1_000, 80_000)
GB = 1e9
LOG_INGEST_PER_GB, LOG_STORE_PER_GB_MONTH = 0.50, 0.03
S3_PUT, S3_GET, S3_STORE_PER_GB_MONTH, S3_PUT_SECONDS = 0.005 / 1000, 0.0004 / 1000, 0.023, 0.030
LAMBDA_GB, LAMBDA_PER_GB_S = 1.7275, 0.0000166667
DB_INSERT_MS_PER_PAIR = 0.103  # 103 ms per 1,000 pairs (bench/monitor_results_store.py)
DB_FIXED_MONTH = 11.68 + 21.90


def _ms(function: object, *args: object) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        function(*args)  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    rows = simulate_history(date(2026, 11, 24), days=1, pairs_per_day=200_000, seed=1).results
    print("pairs/answer  log B/pair  s3 B/pair  encode ms: log  s3   $ per million pairs: "
          "log lines   S3 sink   direct DB (+ fixed $/month)")  # fmt: skip
    for size in SIZES:
        answer = rows[:size]
        log_bytes = sum(len(line) + 1 for line in result_lines(answer)) / size
        s3_bytes = len(encode_rows(answer)) / size
        log_ms, s3_ms = _ms(result_lines, answer), _ms(encode_rows, answer)
        answers = 1e6 / size
        log_cost = 1e6 * log_bytes / GB * (LOG_INGEST_PER_GB + LOG_STORE_PER_GB_MONTH)
        s3_seconds = answers * (S3_PUT_SECONDS + s3_ms / 1000)
        s3_cost = (
            answers * (S3_PUT + S3_GET)
            + 1e6 * s3_bytes / GB * S3_STORE_PER_GB_MONTH
            + s3_seconds * LAMBDA_GB * LAMBDA_PER_GB_S
        )
        db_cost = 1e6 * DB_INSERT_MS_PER_PAIR / 1000 * LAMBDA_GB * LAMBDA_PER_GB_S
        print(
            f"{size:12,d}  {log_bytes:10.0f}  {s3_bytes:9.1f}  {log_ms:12.1f} {s3_ms:5.1f}"
            f"  {log_cost:31.3f}  {s3_cost:8.3f}  {db_cost:10.3f} (+ {DB_FIXED_MONTH:.2f})"
        )


if __name__ == "__main__":
    main()
