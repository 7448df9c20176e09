"""Competition pages: setup, entries, rounds and judges, advancement, awards, results, recommendations."""
