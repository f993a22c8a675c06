"""The `fidelis` command. Each command lives in its own module; this file only wires them."""

from __future__ import annotations

import typer

from fidelis.cli.analytics import (
    analyze_command,
    cohorts_command,
    kpis_command,
    segments_command,
    targets_command,
)
from fidelis.cli.customers import explain_command
from fidelis.cli.demo import demo_command
from fidelis.cli.fx import fx_import_command
from fidelis.cli.ingest import ingest_command, quality_command
from fidelis.cli.models import churn_score_command, churn_train_command, clv_fit_command, clv_predict_command
from fidelis.cli.synth import synth_command

app = typer.Typer(
    name="fidelis",
    help="Fidelis: loyalty and retention analytics for cross-border sellers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("ingest")(ingest_command)
app.command("quality")(quality_command)
app.command("synth")(synth_command)
app.command("demo")(demo_command)
app.command("kpis")(kpis_command)
app.command("cohorts")(cohorts_command)
app.command("segments")(segments_command)
app.command("targets")(targets_command)
app.command("analyze")(analyze_command)

customers_app = typer.Typer(help="Look up customers and how their records were merged.", no_args_is_help=True)
customers_app.command("explain")(explain_command)
app.add_typer(customers_app, name="customers")

fx_app = typer.Typer(help="Exchange rates used to convert to the reporting currency.", no_args_is_help=True)
fx_app.command("import")(fx_import_command)
app.add_typer(fx_app, name="fx")

clv_app = typer.Typer(help="Probabilistic customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma.",
                      no_args_is_help=True)
clv_app.command("fit")(clv_fit_command)
clv_app.command("predict")(clv_predict_command)
app.add_typer(clv_app, name="clv")

churn_app = typer.Typer(help="Churn risk with reasons, and the early-warning list.", no_args_is_help=True)
churn_app.command("train")(churn_train_command)
churn_app.command("score")(churn_score_command)
app.add_typer(churn_app, name="churn")


def main() -> None:
    app()
