"""docs/local.md's plain boto3 block runs as written against `bem serve`, with no credentials."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.local.conftest import ServeProcess

LOCAL_PAGE = Path(__file__).resolve().parents[2] / "docs" / "local.md"


def plain_boto3_block() -> str:
    """The python block of the page's "Plain boto3" section."""
    section = LOCAL_PAGE.read_text().split("### Plain boto3", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.mark.slow
def test_local_docs_plain_boto3_needs_no_credentials(
    real_serve: ServeProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = plain_boto3_block()
    assert '"http://127.0.0.1:3000"' in code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace("http://127.0.0.1:3000", real_serve.url), "local.md", "exec"), {})
    [item] = ast.literal_eval(printed.getvalue().strip())
    assert (item["budget_id"], item["itemization_id"]) == ("309366", "4659496")
    assert 0.0 <= item["score"] <= 1.0 and "error" not in item
