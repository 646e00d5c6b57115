"""Blueprints by audience (finder, auth, bankid, account, printshop, admin; the kiosk is the
top-level package ``kiosk``) and what they share (``pages``, ``sessions``, ``fields``,
``database``, ``errors``). ``stickerreg.create_app`` registers them; no blueprint imports
another."""
