"""Account routes: profile (see the package docstring)."""

from stickerreg.web.account import bp  # noqa: F401
