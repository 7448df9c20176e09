"""Road shows (创新团队对接路演): project solicitation, the automatic schedule, live scoring and leads."""
