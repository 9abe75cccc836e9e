"""Runs inside the target interpreter (python -I -S -B): import the handler, score one event.

Standalone on purpose (stdlib only, no project import before sys.path is set), so the same
file serves the import trace before trimming and the verify step on the unzipped package.
Argument: one JSON object {"paths", "event", "env", "imports", "result"}; the result (response,
loaded modules with their files, timings, peak RSS) is written as JSON to the "result" path
because the handler itself logs to stdout.
"""

import importlib
import json
import os
import resource
import sys
import time


class _Context:
    """The attributes of a Lambda context object the handler may read."""

    function_name = "budget-expense-matcher"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:budget-expense-matcher"
    memory_limit_in_mb = 128
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/budget-expense-matcher"
    log_stream_name = "probe"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def peak_rss_kb() -> int:
    """Peak resident memory of this process image in KiB.

    /proc/self/status VmHWM belongs to this image alone; ru_maxrss would also count a larger
    parent, because Linux keeps the high-water mark across fork and exec.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    started = time.perf_counter()
    args = json.loads(sys.argv[1])
    sys.path[:0] = args["paths"]
    os.environ.update(args.get("env", {}))
    with open(args["event"], encoding="utf-8") as handle:
        event = json.load(handle)
    import lambda_handler

    imported = time.perf_counter()
    response = lambda_handler.handler(event, _Context())
    answered = time.perf_counter()
    if isinstance(response, bytes):  # the runtime posts the handler's JSON bytes as they are
        response = json.loads(response)
    for name in args.get("imports", []):
        importlib.import_module(name)
    modules = {
        name: getattr(module, "__file__", None) for name, module in sorted(sys.modules.items())
    }
    result = {
        "response": response,
        "modules": modules,
        "import_seconds": imported - started,
        "first_response_seconds": answered - started,
        "answered_at": time.time() - (time.perf_counter() - answered),
        "maxrss_kb": peak_rss_kb(),
        "python": sys.version.split()[0],
        "sys_path": sys.path,
    }
    with open(args["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
