"""The host's road-show pages: the call's settings and the screening of applications."""
