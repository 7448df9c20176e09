"""The host's registration management pages (报名管理): list, search, filters, bulk decisions, export, questions."""
