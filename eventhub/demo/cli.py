"""``flask demo load``: the 92 bases, the next campaign, one user per role."""

from __future__ import annotations

import click
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="演示数据")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="只在数据库为空时加载")
def load(if_empty: bool) -> None:
    """Load demo data."""
    from eventhub.demo import services

    try:
        services.load_demo(if_empty=if_empty, echo=click.echo)
    except services.DemoDataError as exc:
        raise click.ClickException(str(exc)) from exc
