"""Benchmark of the kiosk's photo path: what a refused upload and a big photo cost the server.

Run: ``python bench/bench_photo.py``. Two figures, each a ratio against a baseline measured in
the same run, so a busy machine moves both sides alike:

- upload: time to answer an anonymous (unpaired) 11 MB POST to /kiosk/hand-in, over a real
  socket to the dev server, against the same POST with a tiny body. Both should be refused
  without reading the body. Target: ≤ 4 × the tiny one.
- photo: CPU time of ``handed_in.prepare_photo`` on a 40 MP camera-like JPEG (gradients and
  sensor noise, about what a phone writes) against a plain full decode of that JPEG
  (``Image.open(...).load()``). Target: ours < 1 × the full decode, which a prepare_photo that
  decodes at full size can never meet (it also converts, shrinks and encodes). The JPEG decoder
  still reads every coefficient when it scales down, so that entropy decoding is the floor.

Also printed, not targets: the full decode of a 16 MP PNG (formats without a reduced-size
decode are refused above 16 MP). Exits 1 with ``MISSED: ...`` when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageChops  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402
from targets import verdict  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

import stickerreg.models  # noqa: E402,F401  (registers the tables)
from stickerreg import create_app  # noqa: E402
from stickerreg.db import make_engine  # noqa: E402
from stickerreg.services import handed_in  # noqa: E402

UPLOAD_TARGET = 4.0  # before the fix: 8-9 (the body read and parsed before the answer)
PHOTO_TARGET = 1.0


def median_of(repeat: int, run: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of `repeat` runs, by `clock` (wall or process CPU time)."""
    times = []
    for _ in range(repeat):
        started = clock()
        run()
        times.append(clock() - started)
    return statistics.median(times)


def camera_like(size: tuple[int, int], fmt: str) -> bytes:
    """Gradients under sensor noise: compresses about as badly as a real photo does."""
    red = Image.linear_gradient("L").resize(size)
    green = Image.radial_gradient("L").resize(size)
    blue = Image.linear_gradient("L").rotate(90).resize(size)
    noise = Image.effect_noise(size, 6)
    bands = [ImageChops.add(band, noise, offset=-100) for band in (red, green, blue)]
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def full_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def answer_time(port: int, body: bytes, content_type: str) -> tuple[float, bytes]:
    """Seconds from sending a hand-in POST until the status line comes back. The body is sent
    alongside, so a server that refuses without reading answers before the upload ends."""
    head = (f"POST /kiosk/hand-in HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        started = time.perf_counter()
        sender = threading.Thread(target=_send_quietly, args=(connection, head + body))
        sender.start()
        status = connection.recv(12)
        elapsed = time.perf_counter() - started
        sender.join()
    return elapsed, status


def _send_quietly(connection: socket.socket, data: bytes) -> None:
    try:
        connection.sendall(data)
    except OSError:  # the server answered and closed without reading it all: what we hope for
        pass


def hand_in_body(photo_bytes: int) -> tuple[bytes, str]:
    """A hand-in form with a photo of `photo_bytes`, encoded as a browser sends it."""
    photo = FileStorage(io.BytesIO(os.urandom(photo_bytes)), filename="IMG_0001.jpg", content_type="image/jpeg")
    boundary, body = encode_multipart({"description": "Blue key ring", "photo": photo})
    return body, f"multipart/form-data; boundary={boundary}"


def bench_upload(repeat: int) -> float:
    """Seconds until an anonymous 11 MB hand-in POST is answered, over a real socket (the
    dev server on loopback), and the ratio to a tiny one."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        app = create_app({"TESTING": True, "SECRET_KEY": "bench-secret-key", "DATABASE_URL": url,
                          "MAIL_DIR": f"{folder}/mail", "SMTP_URL": None, "PUBLIC_BASE_URL": "http://localhost",
                          "RATELIMIT_ENABLED": False})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        figures = {}
        for name, size in (("big", 11 * 1024 * 1024), ("tiny", 10)):
            body, kind = hand_in_body(size)
            runs = [answer_time(server.server_port, body, kind) for _ in range(repeat)]
            figures[name] = statistics.median(seconds for seconds, _ in runs), runs[0][1].decode()
        server.shutdown()
        app.extensions["db_engine"].dispose()
    (big, big_status), (tiny, tiny_status) = figures["big"], figures["tiny"]
    ratio = big / tiny
    print("Anonymous POST /kiosk/hand-in (no device cookie), time to the status line")
    print(f"  11 MB body   {big * 1000:8.1f} ms  median of {repeat} ({big_status})")
    print(f"  tiny body    {tiny * 1000:8.1f} ms  ({tiny_status})")
    print(f"  ratio        {ratio:8.2f}  (target ≤ {UPLOAD_TARGET})")
    return ratio


def bench_photo(repeat: int) -> float:
    """CPU seconds of prepare_photo on a 40 MP JPEG, and the ratio to a full decode of it."""
    photo = camera_like((7300, 5475), "JPEG")
    ours = median_of(repeat, lambda: handed_in.prepare_photo(photo), time.process_time)
    baseline = median_of(repeat, lambda: full_decode(photo), time.process_time)
    png = camera_like((4618, 3464), "PNG")
    png_decode = median_of(repeat, lambda: full_decode(png), time.process_time)
    ratio = ours / baseline
    print(f"40 MP camera-like JPEG (7300x5475, {len(photo) / 1e6:.1f} MB), CPU time")
    print(f"  prepare_photo {ours:7.3f} s  median of {repeat}")
    print(f"  full decode   {baseline:7.3f} s  Image.open(...).load()")
    print(f"  ratio         {ratio:7.3f}  (target < {PHOTO_TARGET})")
    print(f"16 MP camera-like PNG ({len(png) / 1e6:.1f} MB): full decode {png_decode:.3f} s CPU (not a target)")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median counts (default 3)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["upload", "photo"])
    args = parser.parse_args(argv)
    missed = []
    if "upload" not in args.skip and bench_upload(args.repeat) > UPLOAD_TARGET:
        missed.append(f"anonymous 11 MB upload over {UPLOAD_TARGET} x a tiny one")
    if "photo" not in args.skip and bench_photo(args.repeat) >= PHOTO_TARGET:
        missed.append(f"prepare_photo not under {PHOTO_TARGET} x a full decode")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
