"""The HTML report opened in headless Chromium: it renders, and its plots (totals, estimate
before labels, calibration, segments) and tables are in the DOM."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bem.monitor.report import ReportOptions, build_report
from bem.monitor.simulate import simulate_history
from bem.monitor.store import open_store

pytestmark = pytest.mark.slow

END = date(2026, 11, 24)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is required (scripts/bootstrap.sh installs Debian's package)")
    return found


def _run_chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("chromium")
    url = f"sqlite:///{directory / 'store.db'}"
    history = simulate_history(END, pairs_per_day=400, seed=5, drop_day=60)
    engine = open_store(url)
    with engine.begin() as connection:
        history.store(connection)
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=END, alert_window_days=0))
    engine.dispose()
    page = directory / "report.html"
    page.write_text(report.html, encoding="utf-8")
    return page


def test_report_screenshot_in_headless_chromium_is_not_blank(
    report_page: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    result = _run_chromium(
        f"--screenshot={shot}",
        "--window-size=1280,6000",
        "--hide-scrollbars",
        report_page.as_uri(),
        profile=tmp_path / "profile",
    )
    assert shot.is_file(), result.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 6000)
        pixels = np.asarray(image.convert("RGB"))
    inked = np.any(pixels < 235, axis=2)  # anything darker than near-white
    assert inked.mean() > 0.03  # plots, tables and text, not an empty page
    colours = np.unique(pixels.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 200  # lines, shaded bands, bars, anti-aliased text
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    assert red.sum() > 100  # the alert banner border and the alert lines


def test_report_dom_in_headless_chromium_holds_the_plots(report_page: Path, tmp_path: Path) -> None:
    result = _run_chromium("--dump-dom", report_page.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    names = ["precision", "recall", "f1", "volume", "completion", "scores"]
    names += ["estimate-precision", "estimate-recall", "estimate-f1", "reliability", "ece"]
    names += ["segments-budget_type", "segments-vendor", "segments-label_age"]
    for name in names:
        assert f'id="plot-{name}"' in dom
    assert dom.count("<svg") == len(names)
    for table in ("estimate-table", "calibration-table", "segments-table", "versions-table"):
        assert f'id="{table}"' in dom
    assert "vendor=other" in dom and "label_age=0-2d" in dom and "invisible until" in dom
    assert dom.count("<path") > 100  # the plotted lines, markers and axes
    assert 'id="status"' in dom and "ALERT" in dom
