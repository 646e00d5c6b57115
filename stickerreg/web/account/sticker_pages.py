"""Account routes: sticker_pages (see the package docstring)."""

from stickerreg.web.account import bp  # noqa: F401
