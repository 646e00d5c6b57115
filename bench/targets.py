"""How every benchmark ends: each missed target on a line of its own, or that all were met."""

from __future__ import annotations


def verdict(missed: list[str]) -> int:
    """Print `MISSED: ...` for each missed target (or "All targets met."); the exit code, 1 when
    any was missed."""
    for line in missed:
        print(f"MISSED: {line}")
    if not missed:
        print("All targets met.")
    return 1 if missed else 0
