"""The `bem` command line: a thin Click layer over the tooling modules.

Each sub-command lives in its own module and is imported only when it runs, so
`bem --help` stays fast and one broken tool never hides the others.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "build": "bem.packaging.cli:build_command",
    "train": "bem.model.cli:train_command",
    "evaluate": "bem.model.cli:evaluate_command",
    "synth": "bem.synth.cli:synth_command",
    "invoke": "bem.local.cli:invoke_command",
    "serve": "bem.local.cli:serve_command",
    "deploy": "bem.deploy.cli:deploy_command",
    "monitor": "bem.monitor.cli:monitor_group",
    "batch": "bem.batch.cli:batch_group",
    "data": "bem.data.cli:data_group",
    "model": "bem.loop.cli:model_group",
    "explain": "bem.explain.cli:explain_command",
}

# command name -> the one-line help `bem --help` shows without importing the command
SUMMARIES: dict[str, str] = {
    "build": "Build deploy.zip for Lambda (the same as ./build).",
    "train": "Train on generated or labeled data; write a new models/<version>/ and its card.",
    "evaluate": "Evaluate the model and the rule baseline on held-out users.",
    "synth": "Generate realistic labeled users (budgets, card-feed line items).",
    "invoke": "Run the built zip once as Lambda would; print the response.",
    "serve": "Serve the Lambda Invoke API and the API Gateway route locally.",
    "deploy": "Deploy with boto3: versions, live alias, rollback, mirrors.",
    "monitor": "Results store, labels, precision/recall over time, report.",
    "batch": "Batch scoring and training sets on Spark; package and submit to EMR.",
    "data": "Check your own history (columns, dates, unreadable rows); template; payloads.",
    "model": "Show a model's identity; compare two models; promote one to the model of record.",
    "explain": "Explain a pair's score: its features and each one's contribution.",
}


# exception class name -> the one line that says what is wrong and how to fix it
ONE_LINE_FIXES: dict[str, str] = {
    "NoCredentialsError": "no AWS credentials found: run `aws configure`, or set AWS_PROFILE "
    "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); `bem deploy up --dry-run` plans offline",
    "PartialCredentialsError": "incomplete AWS credentials ({error}): set both "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use AWS_PROFILE",
    "EndpointConnectionError": "cannot reach AWS ({error}): check the network, --region and "
    "--endpoint-url",
    "NoRegionError": "no AWS region: pass --region or set AWS_REGION",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use; known failures of the libraries
    underneath end in one line with the fix (ONE_LINE_FIXES) instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as error:
            fix = ONE_LINE_FIXES.get(type(error).__name__)
            if fix is None:
                raise
            raise click.ClickException(fix.format(error=error)) from error

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES.get(name, "")) for name in sorted(COMMANDS)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="budget-expense-matcher")
def main() -> None:
    """Budget–expense matcher: train, build, run locally, deploy and monitor.

    Example: bem build && bem invoke "$(cat tests/events/seed_direct.json)"
    """
