"""The host's schedule pages: sessions and panels, draft, automatic placement, hand edits, publish, run sheets."""
