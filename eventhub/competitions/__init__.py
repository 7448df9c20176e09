"""Competitions (创新大赛): tracks, rounds, entries, advancement, awards and recommendations."""
