"""Size report of the built zips: per top-level package, zipped and unzipped, vs Lambda limits.

Limits (AWS Lambda quotas): 50 MB for a zip uploaded directly (52,428,800 bytes; larger zips go
through S3), 250 MB unzipped for the function and all its layers (262,144,000 bytes).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

DIRECT_UPLOAD_LIMIT = 52_428_800
UNZIPPED_LIMIT = 262_144_000


class OverLimit(RuntimeError):
    """A zip is over a Lambda limit."""


@dataclass(frozen=True)
class PackageSize:
    """Bytes of one top-level entry of a zip."""

    zip_name: str
    package: str
    zipped: int
    unzipped: int
    files: int


@dataclass(frozen=True)
class SizeReport:
    """All packages of all zips of one build, with the zip files' own sizes."""

    packages: list[PackageSize]
    zip_bytes: dict[str, int]
    unzipped_bytes: dict[str, int]

    @property
    def total_unzipped(self) -> int:
        """Function plus layers, as Lambda counts against the 250 MB limit."""
        return sum(self.unzipped_bytes.values())


def _package_of(name: str) -> str:
    parts = name.split("/")
    if parts[0] == "python" and len(parts) > 2:  # layer: python/<package>/...
        parts = parts[1:]
    top = parts[0]
    if len(parts) == 1 and "." in top:
        top = top.split(".")[0] + (".py" if top.endswith((".py", ".pyc")) else "")
    return top


def measure(zips: list[Path]) -> SizeReport:
    """Sum compressed and uncompressed bytes per top-level package of each zip."""
    packages: list[PackageSize] = []
    zip_bytes: dict[str, int] = {}
    unzipped: dict[str, int] = {}
    for path in zips:
        totals: dict[str, list[int]] = {}
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                entry = totals.setdefault(_package_of(info.filename), [0, 0, 0])
                entry[0] += info.compress_size
                entry[1] += info.file_size
                entry[2] += 1
        for package, (zipped, size, files) in totals.items():
            packages.append(PackageSize(path.name, package, zipped, size, files))
        zip_bytes[path.name] = path.stat().st_size
        unzipped[path.name] = sum(v[1] for v in totals.values())
    packages.sort(key=lambda p: (p.zip_name, -p.unzipped, p.package))
    return SizeReport(packages, zip_bytes, unzipped)


def _mb(value: int) -> str:
    return f"{value / 1e6:8.2f}"


def render(report: SizeReport) -> str:
    """The size table printed by ./build (MB = 10^6 bytes)."""
    width = max([28, *(len(p.package) for p in report.packages)])
    lines = [f"{'zip':<12} {'package':<{width}} {'zipped MB':>9} {'unzipped MB':>11} {'files':>6}"]
    for p in report.packages:
        lines.append(
            f"{p.zip_name:<12} {p.package:<{width}} {_mb(p.zipped):>9} {_mb(p.unzipped):>11} "
            f"{p.files:>6}"
        )
    for name, size in report.zip_bytes.items():
        lines.append(
            f"{name}: {size:,} B zipped ({size / DIRECT_UPLOAD_LIMIT:.0%} of the 50 MB direct "
            f"upload limit), {report.unzipped_bytes[name]:,} B unzipped"
        )
    lines.append(
        f"function + layers unzipped: {report.total_unzipped:,} B "
        f"({report.total_unzipped / UNZIPPED_LIMIT:.0%} of 262,144,000 B)"
    )
    return "\n".join(lines)


def check_limits(
    report: SizeReport,
    zip_limit: int = DIRECT_UPLOAD_LIMIT,
    unzipped_limit: int = UNZIPPED_LIMIT,
    allow_s3: bool = False,
) -> list[str]:
    """Raise OverLimit naming every limit exceeded; return warnings (S3 upload needed)."""
    errors: list[str] = []
    warnings: list[str] = []
    if report.total_unzipped > unzipped_limit:
        errors.append(
            f"unzipped size {report.total_unzipped:,} B is over the {unzipped_limit:,} B "
            "limit for a function and its layers: Lambda will refuse it"
        )
    for name, size in report.zip_bytes.items():
        if size <= zip_limit:
            continue
        message = f"{name} is {size:,} B, over the {zip_limit:,} B direct-upload limit"
        if allow_s3:
            warnings.append(message + ": upload it through S3 (bem deploy does)")
        else:
            errors.append(message + " (pass --allow-s3 to build it for an S3 upload)")
    if errors:
        raise OverLimit("; ".join(errors))
    return warnings
