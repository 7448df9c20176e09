"""Post-event assessment (第三方评估): deals, lasting mechanisms, satisfaction surveys, scores, reports."""

from flask import Blueprint

bp = Blueprint("assessment", __name__)

from eventhub.assessment import deal_views, mechanism_views, public_views, report_views, survey_views  # noqa: E402,F401  (registers the routes)
