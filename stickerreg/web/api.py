"""The partner API (/api/v1): a credit bureau reports credit inquiries, an alarm-receiving
centre reads a customer's fire-alarm contacts.

Partners present an API key (`Authorization: Bearer <key>`, one scope per key, see
services/api_keys); cookies open nothing here, so there is no CSRF token either. Every answer is
JSON, errors are problem+json (RFC 9457) in English for the partners' developers, and nothing is
cached. A request body never comes back in an answer: a refused one is described by its field
names only.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from flask_limiter.util import get_remote_address
from pydantic import ValidationError

from stickerreg import tokens
from stickerreg.extensions import configured, csrf, limiter
from stickerreg.models import ApiKey, ApiScope, IdProtectEventIn
from stickerreg.services import accounts, api_keys
from stickerreg.services.linked import fire, idprotect
from stickerreg.web.errors import problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer keys only: a browser's cookies carry no authority here

UNEXPECTED_NAMES_SHOWN = 10


def presented_key() -> ApiKey | None:
    """The live key this request presents, looked up once per request (the failed-sign-in limit
    asks before the view does)."""
    if "api_key" not in g:
        g.api_key = api_keys.authenticate(g.db, request.headers.get("Authorization"))
    return g.api_key


def key_or_address() -> str:
    """Rate-limit key: a hash of the presented key (no lookup needed), else the client's address."""
    plain = api_keys.plain_key(request.headers.get("Authorization"))
    return "api-key:" + tokens.hash_token(plain) if plain else get_remote_address()


# Per client address, counting only 401s: keys can't be guessed, and a partner with a live key
# is not locked out by someone failing from the same address (a shared NAT).
failed_auth_limit = limiter.shared_limit(configured("RATELIMIT_API_FAILED_AUTH"), scope="api-auth", deduct_when=lambda r: r.status_code == 401,
                                         exempt_when=lambda: presented_key() is not None)


def requires_key(scope: ApiScope):
    """The view runs only for a live key of `scope`: 401 without one, 403 for a key of another scope."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            key = presented_key()
            if key is None:
                return problem(401, "Unauthorized", "Send a live API key as 'Authorization: Bearer <key>'.",
                               headers={"WWW-Authenticate": 'Bearer realm="stickerreg"'})
            if key.scope != scope:
                return problem(403, "Forbidden", f"This endpoint needs a key of scope '{scope.value}'.")
            return view(*args, **kwargs)

        return guarded

    return decorate


@bp.after_request
def never_cached(response: Response) -> Response:
    """Partner answers hold personal data (or say something about it): no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/idprotect/events")
@failed_auth_limit
@limiter.limit(configured("RATELIMIT_API_IDPROTECT"), key_func=key_or_address)
@requires_key(ApiScope.IDPROTECT)
def idprotect_event():
    """A credit bureau reports a credit inquiry: 201 when new, 200 for an event id seen before, and
    the same answer whether or not the personnummer is a customer's."""
    event = event_in(json_object())
    try:
        alert, created = idprotect.ingest(g.db, event, key=current_app.config["SECRET_KEY"].encode())
    except idprotect.IdProtectError:
        return problem(422, "Invalid personnummer", "The personnummer is not a valid Swedish personnummer.",
                       fields=["personnummer"])
    g.db.commit()
    return jsonify(status="accepted", id=alert.external_id), 201 if created else 200


@bp.get("/fire/contacts")
@failed_auth_limit
@limiter.limit(configured("RATELIMIT_API_FIRE"), key_func=key_or_address)
@requires_key(ApiScope.FIRE)
def fire_contacts():
    """An alarm-receiving centre reads a customer's fire-alarm contacts, in calling order. The
    customer number in the query is redacted from every log line (stickerreg.logs); each read
    is audited under the key that made it."""
    typed = request.args.get("customer", "")
    if not typed.strip():
        return problem(400, "Missing customer", "Give the customer number: ?customer=<nine digits>.",
                       fields=["customer"])
    contacts = fire.for_customer(g.db, typed, reader=presented_key())
    g.db.commit()  # the audit entry and the key's last use
    if contacts is None:
        return problem(404, "No such customer", "No customer has that number.")
    return jsonify(customer=accounts.normalize_customer_number(typed),
                   contacts=[contact.model_dump() for contact in contacts])


def json_object() -> dict:
    """The request body as a JSON object, or a 415/400 problem. (A body over MAX_CONTENT_LENGTH
    is a 413 before it is read.)"""
    if not request.is_json:
        abort(problem(415, "Unsupported media type", "Send the body as application/json."))
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # bad UTF-8 is a ValueError too; deep nesting is not
        abort(problem(400, "Malformed JSON", "The body is not valid JSON."))
    if not isinstance(body, dict):
        abort(problem(400, "Not a JSON object", "The body must be a JSON object."))
    return body


def event_in(body: dict) -> IdProtectEventIn:
    """The body as an event (the IdProtectEventIn allowlist), or a 422 naming the fields at fault."""
    try:
        event = IdProtectEventIn.model_validate(body)
    except ValidationError as error:
        names = {str(found["loc"][0]) if found["loc"] else "" for found in error.errors()}
        abort(_refused_fields(names))
    return event


def _refused_fields(names: set[str]) -> Response:
    """A 422 naming the event's fields at fault; unexpected names are cut short, never their values."""
    known = sorted(names & IdProtectEventIn.model_fields.keys())
    unexpected = sorted(name[:40] for name in names - IdProtectEventIn.model_fields.keys())
    details, members = [], {"fields": known}
    if known:
        details.append(f"These fields are missing, of the wrong type or out of bounds: {', '.join(known)}.")
    if unexpected:
        details.append("Fields that are not part of an event are refused (see unexpected_fields).")
        members["unexpected_fields"] = unexpected[:UNEXPECTED_NAMES_SHOWN]
    return problem(422, "Invalid event", " ".join(details), **members)

