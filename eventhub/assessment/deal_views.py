"""The host's deal pages (合作项目): record, evidence, start from an answer or a lead; organiser review of disputes."""
