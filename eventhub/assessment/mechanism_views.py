"""The host's lasting-mechanism pages (合作机制) and the follow-up answers."""
