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
@pytest.mark.usefixtures("no_aws_credentials")
def test_local_docs_plain_boto3_needs_no_credentials(real_serve: ServeProcess) -> None:
    code = plain_boto3_block()
    assert '"http://127.0.0.1:3000"' in code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace("http://127.0.0.1:3000", real_serve.url), "local.md", "exec"), {})
    [item] = ast.literal_eval(printed.getvalue().strip())
    assert (item["budget_id"], item["itemization_id"]) == ("309366", "4659496")
    assert 0.0 <= item["score"] <= 1.0 and "error" not in item
