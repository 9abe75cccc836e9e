"""The SAM template: lint-clean (cfn-lint and `sam validate --lint`), every reference of the
translated template resolves, and its settings agree with the code's constants."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint, lint_file
from cfnlint.decode import cfn_yaml
from click.testing import CliRunner
from deploy_helpers import (
    REPO_ROOT,
    SAMCONFIG,
    TEMPLATE,
    sam_environment,
    sam_executable,
    unresolved_references,
)

from bem.deploy.cli import deploy_command
from bem.deploy.results_policy import results_policy, results_resource
from bem.deploy.spec import DEFAULT_ENVIRONMENT, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from budget_matcher import SERVICE_NAME
from budget_matcher.config import (
    DEFAULT_ALIAS,
    DEFAULT_METRICS_NAMESPACE,
    ENV_METRICS_NAMESPACE,
    ENV_RESULTS_S3_URI,
    METRIC_DIMENSION_MODEL_VERSION,
    METRIC_DIMENSION_SERVICE,
    METRIC_ERROR_ITEMS,
    METRIC_PAIRS_SCORED,
)
from budget_matcher.results_s3 import parse_s3_uri

SAMCONFIG_REGIONS = sorted(
    {
        env["deploy"]["parameters"]["region"]
        for key, env in tomllib.loads(SAMCONFIG.read_text()).items()
        if key != "version"
    }
)


def translate(template: Path, parameters: dict[str, str]) -> dict[str, Any]:
    """CloudFormation made by the pinned SAM translator (in .venv-sam), offline."""
    python = sam_executable().parent / "python"
    run = subprocess.run(
        [
            str(python),
            str(Path(__file__).parent / "sam_translate.py"),
            str(template),
            json.dumps(parameters),
        ],
        env=sam_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    template: dict[str, Any] = cfn_yaml.load(str(TEMPLATE))
    return template


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(TEMPLATE, {"ModelVersion": "2026.11.24-1"})


def test_template_cfn_lint_clean_in_every_configured_region() -> None:
    assert SAMCONFIG_REGIONS == ["eu-west-1", "us-east-1", "us-west-2"]
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=SAMCONFIG_REGIONS))
    assert [str(m) for m in matches] == []


def test_template_cfn_lint_flags_a_broken_copy() -> None:
    broken = TEMPLATE.read_text().replace(
        "!GetAtt ApiAccessLogGroup.Arn", "!GetAtt ApiAccessLogGroup.Nope"
    )
    assert [m.rule.id for m in lint(broken, config=ManualArgs(regions=["us-west-2"]))] == ["E1010"]


@pytest.mark.slow
def test_template_sam_validate_lint_clean() -> None:
    run = subprocess.run(
        [str(sam_executable()), "validate", "--lint", "--template-file", str(TEMPLATE)],
        cwd=REPO_ROOT,
        env=sam_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is a valid SAM Template" in run.stdout


def test_template_translated_references_resolve(translated: dict[str, Any]) -> None:
    assert unresolved_references(translated) == set()


def test_template_translated_references_catch_a_missing_alarm(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE.read_text().replace("- !Ref ErrorItemRateAlarm", "- !Ref MissingAlarm")
    )
    # neither linter notices this one; the reference check does
    assert unresolved_references(translate(broken, {"ModelVersion": "m"})) == {"MissingAlarm"}


def test_template_function_settings_match_deploy_defaults(source: dict[str, Any]) -> None:
    function = source["Resources"]["MatcherFunction"]["Properties"]
    parameters = source["Parameters"]
    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == "lambda_handler.handler"
    assert function["AutoPublishAlias"] == DEFAULT_ALIAS
    assert (TEMPLATE.parent / function["CodeUri"]).resolve() == REPO_ROOT / "deploy.zip"
    assert parameters["MemorySize"]["Default"] == DEFAULT_MEMORY_MB
    assert parameters["Timeout"]["Default"] == DEFAULT_TIMEOUT_S
    assert parameters["FunctionName"]["Default"] == SERVICE_NAME
    assert parameters["StageName"]["Default"] == "test"
    assert parameters["DeploymentType"]["Default"].startswith("Canary")
    assert "Default" not in parameters["ModelVersion"]
    alarms = {a["Ref"] for a in function["DeploymentPreference"]["Alarms"]}
    assert alarms == {"AliasErrorsAlarm", "ErrorItemRateAlarm"}
    log_group = source["Resources"]["MatcherLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_template_error_rate_alarm_watches_handler_emf_metrics(source: dict[str, Any]) -> None:
    assert source["Parameters"]["MetricsNamespace"]["Default"] == DEFAULT_METRICS_NAMESPACE
    assert source["Parameters"]["ServiceDimension"]["Default"] == SERVICE_NAME
    queries = {
        q["Id"]: q for q in source["Resources"]["ErrorItemRateAlarm"]["Properties"]["Metrics"]
    }
    stats = {
        q["MetricStat"]["Metric"]["MetricName"]: q["MetricStat"]["Metric"]
        for q in queries.values()
        if "MetricStat" in q
    }
    assert set(stats) == {METRIC_ERROR_ITEMS, METRIC_PAIRS_SCORED}
    for metric in stats.values():
        assert metric["Namespace"] == {"Ref": "MetricsNamespace"}
        assert [d["Name"] for d in metric["Dimensions"]] == [
            METRIC_DIMENSION_SERVICE,
            METRIC_DIMENSION_MODEL_VERSION,
        ]
    assert queries["error_rate"]["ReturnData"] is True
    variables = source["Resources"]["MatcherFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[ENV_METRICS_NAMESPACE] == {"Ref": "MetricsNamespace"}
    assert {k: variables[k] for k in DEFAULT_ENVIRONMENT} == DEFAULT_ENVIRONMENT
    assert variables["POWERTOOLS_SERVICE_NAME"] == {
        "Ref": "ServiceDimension"
    }  # read by the EMF code
    errors = source["Resources"]["AliasErrorsAlarm"]["Properties"]
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")


def test_template_api_has_post_and_get_behind_an_api_key(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    body = resources["MatcherApi"]["Properties"]["Body"]
    route = body["paths"]["/budget_expense_matcher"]
    assert set(route) == {"post", "get"}
    for method in route.values():
        assert method["security"] == [{"api_key": []}]
        uri = json.dumps(method["x-amazon-apigateway-integration"]["uri"])
        assert "MatcherFunctionAliaslive" in uri  # calls go through the alias, so canaries apply
    assert resources["MatcherApiStage"]["Properties"]["StageName"] == {"Ref": "StageName"}
    plan = resources["MatcherApiUsagePlan"]["Properties"]
    assert plan["Quota"]["Period"] == "DAY"
    assert resources["MatcherApiUsagePlanKey"]["Properties"]["KeyId"] == {"Ref": "MatcherApiApiKey"}


def test_samconfig_envs_use_declared_parameters_with_allowed_values(source: dict[str, Any]) -> None:
    declared = source["Parameters"]
    config = tomllib.loads(SAMCONFIG.read_text())
    for name, env in config.items():
        if name == "version":
            continue
        assert env["global"]["parameters"]["stack_name"] == SERVICE_NAME
        for token in env["deploy"]["parameters"]["parameter_overrides"].split():
            key, _, value = token.partition("=")
            assert key in declared, f"{name}: {key} is not a template parameter"
            allowed = declared[key].get("AllowedValues")
            if allowed:
                assert value in [str(v) for v in allowed], f"{name}: {key}={value}"


def test_sam_params_cli_adds_the_zip_model_version(make_zip: Any) -> None:
    zip_path = make_zip("2026.11.24-7")
    result = CliRunner().invoke(
        deploy_command,
        [
            "sam-params",
            "--zip",
            str(zip_path),
            "--config-file",
            str(SAMCONFIG),
            "--config-env",
            "eu-west-1",
            "--commit",
            "abc",
        ],
    )
    assert result.exit_code == 0, result.output
    pairs = dict(token.split("=", 1) for token in result.output.split())
    assert pairs["ModelVersion"] == "2026.11.24-7"
    assert pairs["GitCommit"] == "abc"
    assert pairs["LogRetentionDays"] == "90"
    missing = CliRunner().invoke(
        deploy_command,
        [
            "sam-params",
            "--zip",
            str(zip_path),
            "--config-file",
            str(SAMCONFIG),
            "--config-env",
            "mars-1",
        ],
    )
    assert missing.exit_code != 0 and "no config env 'mars-1'" in missing.output


def test_template_access_logs_wait_for_the_account_role(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    setting = resources["MatcherApiStage"]["Properties"]["AccessLogSetting"]["Fn::If"]
    assert setting[0] == "AccessLogsOn"
    assert setting[1]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    tags = resources["ApiAccessLogGroup"]["Properties"]["Tags"]
    # the stage needs the log group, the log group refers to the account setting: order holds
    assert {"Ref": "ApiGatewayAccount"} in tags[0]["Value"]["Fn::If"]
    role = resources["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"]
    assert role == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}


def resolve(node: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> Any:
    """The value CloudFormation would give `node` for these parameters (Ref, Sub, If, Equals,
    Not, Condition: what the results-sink parts use); AWS::NoValue entries are dropped, other
    references are left as they are."""
    known = {"AWS::Partition": "aws", **parameters}

    def value(item: Any) -> Any:
        if isinstance(item, list):
            return [v for v in (value(i) for i in item) if v is not NO_VALUE]
        if not isinstance(item, dict):
            return item
        if set(item) == {"Ref"}:
            return NO_VALUE if item["Ref"] == "AWS::NoValue" else known.get(item["Ref"], item)
        if set(item) == {"Fn::Sub"} and isinstance(item["Fn::Sub"], str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: known.get(m[1], m[0]), item["Fn::Sub"])
        if set(item) == {"Fn::If"}:
            name, then, otherwise = item["Fn::If"]
            return value(then if value(conditions[name]) else otherwise)
        if set(item) == {"Fn::Equals"}:
            left, right = value(item["Fn::Equals"])
            return left == right
        if set(item) == {"Fn::Not"}:
            return not value(item["Fn::Not"][0])
        if set(item) == {"Condition"}:
            return value(conditions[item["Condition"]])
        return {k: v for k, v in ((k, value(v)) for k, v in item.items()) if v is not NO_VALUE}

    return value(node)


NO_VALUE = object()
RESULTS_PARAMETERS = ("ResultsS3Bucket", "ResultsS3Prefix")


def test_template_results_s3_sink_is_off_by_default_and_never_the_broad_crud_policy(
    source: dict[str, Any],
) -> None:
    parameters = source["Parameters"]
    assert [parameters[p]["Default"] for p in RESULTS_PARAMETERS] == ["", ""]
    function = source["Resources"]["MatcherFunction"]["Properties"]
    variable = function["Environment"]["Variables"][ENV_RESULTS_S3_URI]
    assert variable["Fn::If"][0] == "HasResultsS3"
    assert variable["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    [policy] = function["Policies"]
    assert policy["Fn::If"][0] == "HasResultsS3"
    assert policy["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert [s["Action"] for s in policy["Fn::If"][1]["Statement"]] == ["s3:PutObject"]
    assert "S3CrudPolicy" not in TEMPLATE.read_text()


@pytest.mark.parametrize(
    ("bucket", "prefix"),
    [("bem-results", "monitor/results"), ("bem.results-1", ""), ("", ""), ("", "ignored")],
)
def test_template_results_s3_grant_is_what_bem_deploy_grants(
    translated: dict[str, Any], bucket: str, prefix: str
) -> None:
    values = dict(zip(RESULTS_PARAMETERS, (bucket, prefix), strict=True))
    conditions = translated["Conditions"]
    function = translated["Resources"]["MatcherFunction"]["Properties"]
    variables = resolve(function["Environment"]["Variables"], values, conditions)
    role = resolve(translated["Resources"]["MatcherFunctionRole"]["Properties"], values, conditions)
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    if not bucket:
        assert ENV_RESULTS_S3_URI not in variables
        assert role["Policies"] == []
        return
    uri = variables[ENV_RESULTS_S3_URI]
    assert parse_s3_uri(uri) == (bucket, prefix)
    [policy] = role["Policies"]
    assert policy["PolicyDocument"] == results_policy(results_resource(uri))


def test_template_results_s3_parameters_refuse_what_would_widen_or_break_the_grant(
    source: dict[str, Any],
) -> None:
    bucket, prefix = (
        re.compile(source["Parameters"][name]["AllowedPattern"]) for name in RESULTS_PARAMETERS
    )
    for good in ("", "bem-results", "bem.results-1"):
        assert bucket.fullmatch(good), good
    for bad in ("Bem_Results", "ab", "-bem", "bem-"):
        assert not bucket.fullmatch(bad), bad
    for good in ("", "monitor", "monitor/results", "a=1/b_2"):
        assert prefix.fullmatch(good), good
        results_resource(f"s3://bem-results/{good}")  # bem deploy takes it too
    for bad in ("/monitor", "monitor/", "a//b", "a*", "a?b", "${aws:username}"):
        assert not prefix.fullmatch(bad), bad
