"""EventHub: the “融通创新”主题日 platform. ``create_app`` wires config, extensions, blueprints, CLI."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app; ``test_config`` overrides everything (tests pass their database here)."""
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)

    from eventhub.config import load_config

    load_config(app, test_config)

    if app.config.get("PROXY_FIX_X_FOR"):  # behind a load balancer: trust its X-Forwarded-* headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from eventhub import models  # noqa: F401  (every model registered before migrations look)
    from eventhub.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate, select_locale

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")

    from eventhub.api import bp as api_bp
    from eventhub.assessment import bp as assessment_bp
    from eventhub.auth import bp as auth_bp
    from eventhub.bases import bp as bases_bp
    from eventhub.campaigns import bp as campaigns_bp
    from eventhub.checkin import bp as checkin_bp
    from eventhub.competitions import bp as competitions_bp
    from eventhub.core.outbox_views import bp as outbox_bp
    from eventhub.core.permissions import login_guard
    from eventhub.core.scheduler_views import bp as jobs_bp
    from eventhub.core.views import bp as core_bp
    from eventhub.core.views import register_error_handlers, register_template_helpers
    from eventhub.events import bp as events_bp
    from eventhub.judging import bp as judging_bp
    from eventhub.plans import bp as plans_bp
    from eventhub.registration import bp as registration_bp
    from eventhub.roadshow import bp as roadshow_bp
    from eventhub.selection import bp as selection_bp

    for blueprint in (
        core_bp,
        auth_bp,
        bases_bp,
        campaigns_bp,
        plans_bp,
        judging_bp,
        selection_bp,
        events_bp,
        outbox_bp,
        jobs_bp,
        registration_bp,
        checkin_bp,
        roadshow_bp,
        competitions_bp,
        assessment_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # the API authenticates each request by bearer token, not by cookie
    app.before_request(login_guard)
    register_error_handlers(app)
    register_template_helpers(app)

    from eventhub.auth.views import load_user

    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("请先登录")
    login_manager.login_message_category = "warning"

    from eventhub.auth.cli import users_cli
    from eventhub.demo.cli import demo_cli

    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)

    from eventhub.core import scheduler

    scheduler.init_app(app, test_config)  # `flask scheduler`; in-process only when RUN_SCHEDULER is on
    return app
