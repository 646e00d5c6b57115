"""The print shop: batches of sticker sets from draft to shipped (``batches``), misprints
and their reprints (``misprints``), and print files made by export jobs (``exports``).

A batch moves draft → minted → exported → printed → shipped, and may be voided from any
state but shipped; every move is a BatchEvent with its actor and time. Activation codes
are kept in plain text (``StickerSet.activation_plain``) only until the batch is printed:
the backing cards are the one place they are printed, and after that only hashes remain.

The drawing is done by the print engine (``stickerreg.printing``). Like every service,
these take a Session and never commit; the export worker (``exports.run_export``) is the
exception, since it works through its own short transactions.
"""

from __future__ import annotations


class PrintshopError(ValueError):
    """A print-shop request that can't be carried out. `code` names the reason (the web
    translates it), the message is plain English for operators and logs."""

    code = "printshop_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


class UnknownLayout(PrintshopError):
    code = "unknown_layout"


class UnknownLanguage(PrintshopError):
    code = "unknown_language"


class IllegalTransition(PrintshopError):
    code = "illegal_transition"


class ExportRefused(PrintshopError):
    code = "export_refused"


class CardsPurged(ExportRefused):
    code = "cards_purged"


class VoidRefused(PrintshopError):
    code = "void_refused"
