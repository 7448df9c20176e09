"""Shared building blocks: time, 字数, validators, permissions, audit log, mail, health."""
