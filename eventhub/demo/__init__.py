"""Demo data for newcomers (``flask demo load``)."""
