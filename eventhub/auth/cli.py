"""``flask users …`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from eventhub.auth import bp

users_cli = AppGroup("users", help="管理用户账号")
bp.cli.short_help = "用户账号"


@users_cli.command("create-organiser")
@click.option("--email", prompt="邮箱")
@click.option("--name", prompt="姓名")
@click.password_option("--password", prompt="密码")
def create_organiser(email: str, name: str, password: str) -> None:
    """Create the first organiser account of a real deployment."""
    from eventhub.auth.services import AccountError, create_user
    from eventhub.core.permissions import Role
    from eventhub.extensions import db

    try:
        user = create_user(email=email, name=name, role=Role.ORGANISER, password=password)
        db.session.commit()
    except (AccountError, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"已创建组织方账号 {user.email}")
