"""Password and desk-PIN hashing with argon2id.

The cost is configuration (``create_app`` calls ``configure``): production strength by
default, and the cheap parameters that keep the test suite fast are refused by
``stickerreg.config`` anywhere but under TESTING.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class HashCost:
    """argon2id parameters: passes, memory in KiB, lanes."""

    time_cost: int
    memory_kib: int
    parallelism: int

    def is_strong(self) -> bool:
        """At least OWASP's minimum for argon2id (2 passes over 19 MiB)."""
        return self.time_cost >= MINIMUM.time_cost and self.memory_kib >= MINIMUM.memory_kib


MINIMUM = HashCost(time_cost=2, memory_kib=19 * 1024, parallelism=1)
# argon2-cffi's defaults: RFC 9106's low-memory profile.
PRODUCTION = HashCost(time_cost=3, memory_kib=64 * 1024, parallelism=4)
# The smallest argon2 allows: for test runs only, where no real password exists.
TESTING = HashCost(time_cost=1, memory_kib=8, parallelism=1)


class _Hasher:
    """The configured PasswordHasher and a hash of nothing to verify against for unknown
    users, so a miss costs exactly as much as a wrong password."""

    def __init__(self, cost: HashCost):
        self.argon2 = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                     parallelism=cost.parallelism)

    @cached_property
    def dummy_hash(self) -> str:
        return self.argon2.hash("not-a-real-password-just-for-timing")


_current = _Hasher(PRODUCTION)


def configure(cost: HashCost) -> None:
    """Hash with `cost` from now on (existing hashes keep verifying whatever their cost)."""
    global _current
    if cost != current_cost():
        _current = _Hasher(cost)


def current_cost() -> HashCost:
    argon2 = _current.argon2
    return HashCost(argon2.time_cost, argon2.memory_cost, argon2.parallelism)


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or PIN, salted, with the configured cost."""
    return _current.argon2.hash(secret)


def verify(secret_hash: str, secret: str) -> bool:
    """True when `secret` matches `secret_hash`; a malformed hash is simply no match."""
    try:
        return _current.argon2.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def spend_verify_time(secret: str) -> None:
    """Do the work of one verification for nobody, so unknown accounts answer as slowly."""
    verify(_current.dummy_hash, secret)


def needs_rehash(secret_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    return _current.argon2.check_needs_rehash(secret_hash)
