"""Pages reached by signed links: confirm / dispute a deal, say whether a mechanism is active, answer the survey."""
