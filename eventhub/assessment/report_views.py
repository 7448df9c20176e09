"""Scores and reports: weights, the campaign dashboard, per-event reports, assessor comments and finalisation."""
