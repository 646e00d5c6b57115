"""Benchmark of minting a print-shop batch against a naive baseline, in the same run.

Run: ``python bench/bench_mint.py --count 10000`` (``make bench`` does). Ours is
``batches.create_and_mint``: one bulk INSERT for the sets, one for the stickers, and the
drawn codes checked against the table 500 at a time. The baseline is what the obvious ORM
code does: per set, add it and flush; per sticker, look its code up, add it and flush.
Both run on a fresh SQLite file (or ``--database-url``), so a busy machine slows both alike;
the figure that counts is the ratio. Exits 1 with ``MISSED: ...`` when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, SQLModel, func, select  # noqa: E402
from targets import verdict  # noqa: E402

import stickerreg.models  # noqa: E402,F401  (registers the tables)
from stickerreg import codes, tokens  # noqa: E402
from stickerreg.db import make_engine  # noqa: E402
from stickerreg.models import Sticker, StickerSet  # noqa: E402
from stickerreg.services import stickers  # noqa: E402
from stickerreg.services.printshop import batches  # noqa: E402

SET_SIZE = 6
TARGET_RATIO = 0.2  # ours at least five times faster than the naive ORM loop


def mint_ours(session: Session, count: int) -> None:
    batches.create_and_mint(session, count=count, set_size=SET_SIZE, layout="a4-3x7", product="Bench")
    session.commit()


def mint_baseline(session: Session, count: int) -> None:
    """One set, one sticker at a time, each code checked with its own query."""
    left = count
    while left:
        size = min(SET_SIZE, left)
        plain = stickers.new_activation_code()
        sticker_set = StickerSet(activation_hash=tokens.hash_token(plain), activation_plain=plain)
        session.add(sticker_set)
        session.flush()
        for _ in range(size):
            code = codes.generate()
            while session.exec(select(Sticker.id).where(Sticker.code == code)).first() is not None:
                code = codes.generate()
            session.add(Sticker(code=code, set_id=sticker_set.id))
            session.flush()
        left -= size
    session.commit()


def timed_on_fresh_database(mint: Callable[[Session, int], None], count: int, url: str | None) -> float:
    """Seconds to mint `count` stickers into an empty schema; checks every code is there."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(url or f"sqlite:///{folder}/bench.sqlite3")
        SQLModel.metadata.drop_all(engine)
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            mint(session, count)
            elapsed = time.perf_counter() - started
            distinct = session.exec(select(func.count(func.distinct(Sticker.code)))).one()
            assert distinct == count, f"{distinct} distinct codes for {count} stickers"
        SQLModel.metadata.drop_all(engine)
        engine.dispose()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="stickers to mint (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of ours; the median counts")
    parser.add_argument("--database-url", help="an empty database to use instead of a fresh SQLite file")
    args = parser.parse_args(argv)
    ours = statistics.median(timed_on_fresh_database(mint_ours, args.count, args.database_url)
                             for _ in range(args.repeat))
    baseline = timed_on_fresh_database(mint_baseline, args.count, args.database_url)
    backend = sa.make_url(args.database_url).get_backend_name() if args.database_url else "sqlite"
    print(f"Minting {args.count:,} stickers in sets of {SET_SIZE} ({backend})")
    print(f"  ours      {ours:8.3f} s  batches.create_and_mint, median of {args.repeat}")
    print(f"  baseline  {baseline:8.3f} s  ORM add + flush per row, one lookup per code")
    print(f"  ratio     {ours / baseline:8.4f}  (ours / baseline; {baseline / ours:.1f}x faster)")
    return verdict([f"mint ratio {ours / baseline:.4f} > {TARGET_RATIO}"] if ours / baseline > TARGET_RATIO else [])


if __name__ == "__main__":
    sys.exit(main())
