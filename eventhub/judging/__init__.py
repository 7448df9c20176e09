"""The one judging engine: rubrics, judge assignment with conflicts of interest, score sheets,
aggregation with per-judge normalisation. Plan review, road shows and competitions are clients;
the engine knows nothing about them beyond an item's reference, title, link and conflict bases.
"""

from flask import Blueprint

bp = Blueprint("judging", __name__, url_prefix="/judging")

from eventhub.judging import views  # noqa: E402,F401
