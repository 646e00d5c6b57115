"""Recognise link-preview bots and crawlers, which must never create messages or alerts."""

from __future__ import annotations

import re

# Messengers fetch a shared link to draw a preview; crawlers follow everything.
_BOT_PATTERN = re.compile(
    r"bot\b|crawler|spider|slurp|facebookexternalhit|facebookcatalog|meta-externalagent"
    r"|whatsapp|telegram|slack|discord|skypeuripreview|linkedin|pinterest|embedly"
    r"|quora link preview|outbrain|vkshare|w3c_validator|redditbot|applebot|yandex"
    r"|bingpreview|google-inspectiontool|python-requests|curl/|wget/"
    r"|go-http-client|okhttp|preview",
    re.IGNORECASE,
)


def is_bot(user_agent: str | None) -> bool:
    """True for known previewers, crawlers and scripted clients; an empty agent counts too."""
    if not user_agent or not user_agent.strip():
        return True
    return bool(_BOT_PATTERN.search(user_agent))
