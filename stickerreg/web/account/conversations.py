"""Account routes: conversations (see the package docstring)."""

from stickerreg.web.account import bp  # noqa: F401
