"""Host selection and date allocation (统筹确定承办基地、分散安排活动时间)."""

from flask import Blueprint

bp = Blueprint("selection", __name__, url_prefix="/selection")

from eventhub.selection import views  # noqa: E402,F401
