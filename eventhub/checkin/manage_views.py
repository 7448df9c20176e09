"""The organiser's check-in pages: staff and gates, API tokens, the live dashboard and attendance export."""
