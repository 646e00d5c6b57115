"""Benchmark of the print-ready PDF engine (stickerreg.printing.pdf) against a naive baseline.

Run: ``python bench/bench_pdf.py --count 10000`` (``make bench`` does). Everything
is measured in the same run on the same machine and reported as ratios:

1. PDF: our engine vs reportlab drawing every dark module of qrcode's default
   matrix as its own rectangle (the obvious first implementation).
2. QR modules per code: ``qr.matrix_rows`` (the engine's encoder) vs zxing-cpp's
   C++ encoder; the qrcode library (``qr.matrix``) is shown for scale.
3. Memory: tracemalloc peak while streaming 1,000 and then 10,000 stickers from a
   generator into a sink that keeps nothing: it must not grow with the run.

4. The product path: ``flask batch create`` (mint) and ``flask batch export
   --format pdf`` as subprocesses on a fresh SQLite database, wall time including
   Python start-up and reading the batch back, against the same baseline.

Figure 1 calls the engine directly (``pdf.render_stickers``); figure 4 is what an
operator waits for. Exits 1 and names the target when one is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout

import qrcode  # noqa: E402
import zxingcpp  # noqa: E402
from qrcode.constants import ERROR_CORRECT_M  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from targets import verdict  # noqa: E402

from stickerreg import codes, qr  # noqa: E402
from stickerreg.printing import layouts, pdf  # noqa: E402

BASE_URL = "https://stickerreg.se"
TARGET_RATIO = 0.05  # ours / baseline time
TARGET_SIZE = 5_000_000  # bytes for the --count run
TARGET_MATRIX_RATIO = 3.0  # ours / zxing-cpp per code
TARGET_MEMORY_GROWTH = 1.25  # peak(large) / peak(small)


def stickers(count: int, seed: int = 1) -> Iterator[tuple[str, str]]:
    """``count`` reproducible (code, url) pairs, made one at a time."""
    rng = random.Random(seed)
    for _ in range(count):
        body = "".join(rng.choice(codes.ALPHABET) for _ in range(codes.BODY_LENGTH))
        code = body + codes.check_symbol(body)
        yield code, qr.sticker_url(BASE_URL, code)


class Sink(io.RawIOBase):
    """A write-only file that counts bytes and keeps none of them."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.size += len(data)
        return len(data)


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# --- the two PDF renderers -----------------------------------------------------------


def render_ours(path: Path, items: list[tuple[str, str]], layout: layouts.StickerLayout, workers: int = 1) -> None:
    with path.open("wb") as out:
        pdf.render_stickers(out, items, layout, workers=workers)


def render_baseline(path: Path, items: list[tuple[str, str]], layout: layouts.StickerLayout) -> None:
    """reportlab, one rectangle per dark module of qrcode's default matrix, same text lines."""
    grid = layout.grid
    page = canvas.Canvas(str(path), pagesize=(grid.page_width * mm, grid.page_height * mm))
    for index, (code, url) in enumerate(items):
        spot = layout.placement(index)
        if index and spot.slot == 0:
            page.showPage()
        symbol = qrcode.QRCode(error_correction=ERROR_CORRECT_M)  # default border: 4 modules
        symbol.add_data(url)
        symbol.make(fit=True)
        modules = symbol.get_matrix()
        module = spot.qr.width / (len(modules) - 8)
        left, top = spot.qr.x - 4 * module, spot.qr.y - 4 * module
        for y, row in enumerate(modules):
            for x, dark in enumerate(row):
                if dark:
                    bottom = grid.page_height - top - (y + 1) * module
                    page.rect((left + x * module) * mm, bottom * mm, module * mm, module * mm, stroke=0, fill=1)
        values = {"id": codes.display(code), "domain": BASE_URL.split("://")[1].upper()}
        for line in layout.text:
            page.setFont(line.font, line.size)
            baseline = (grid.page_height - spot.label.y - line.baseline) * mm
            page.drawString((spot.label.x + line.x) * mm, baseline, line.text.format(**values))
    page.save()


# --- the measurements ----------------------------------------------------------------


def bench_pdf(args: argparse.Namespace, results: dict) -> None:
    layout = layouts.sticker_layout(args.layout)
    items = list(stickers(args.count))
    with tempfile.TemporaryDirectory() as folder:
        ours_path, base_path = Path(folder, "ours.pdf"), Path(folder, "baseline.pdf")
        cold = timed(lambda: render_ours(ours_path, items, layout))  # includes building the encoder tables
        runs = [timed(lambda: render_ours(ours_path, items, layout)) for _ in range(args.repeat)]
        parallel = timed(lambda: render_ours(ours_path, items, layout, workers=2)) if args.parallel else None
        ours_size = ours_path.stat().st_size
        baseline = timed(lambda: render_baseline(base_path, items[: args.baseline_count], layout))
        base_size = base_path.stat().st_size
    scale = args.count / args.baseline_count  # 1 unless a sample of the baseline was asked for
    ours = statistics.median(runs)
    results.update(ours=ours, baseline=baseline * scale, size=ours_size)
    print(f"PDF, {args.count:,} stickers on {layout.name} ({layout.page_count(args.count)} pages)")
    print(f"  ours      {ours:8.3f} s  median of {args.repeat} (first run, tables cold: {cold:.3f} s)")
    if parallel is not None:
        print(f"  ours, 2 worker processes {parallel:8.3f} s  (workers=2, for CLI runs)")
    sampled = f" for {args.baseline_count:,}, x{scale:g}" if scale != 1 else ""
    print(f"  baseline  {baseline * scale:8.3f} s  reportlab + qrcode, rect per module{sampled}")
    print(f"  ratio     {ours / (baseline * scale):8.4f}  (ours / baseline; {baseline * scale / ours:.1f}x faster)")
    print(f"  size      {ours_size / 1e6:8.2f} MB ours, {base_size * scale / 1e6:.2f} MB baseline")


def bench_matrix(args: argparse.Namespace, results: dict) -> None:
    payloads = [url for _, url in stickers(args.matrix_codes, seed=2)]
    qr.matrix_rows(payloads[0])  # build the tables outside the timing
    fmt = zxingcpp.BarcodeFormat.QRCode

    def zxing_symbol(payload: str) -> object:
        return zxingcpp.create_barcode(payload, fmt, ec_level="M")

    def zxing_modules(payload: str) -> object:
        return zxingcpp.create_barcode(payload, fmt, ec_level="M").to_image(scale=1, add_quiet_zones=False)

    def per_code(encode: Callable[[str], object], sample: list[str]) -> float:
        return min(timed(lambda: [encode(p) for p in sample]) for _ in range(3)) / len(sample)

    ours = per_code(qr.matrix_rows, payloads)
    zxing = per_code(zxing_symbol, payloads)
    zxing_image = per_code(zxing_modules, payloads)
    library = per_code(qr.matrix, payloads[: max(1, len(payloads) // 10)])
    results.update(matrix=ours, zxing=zxing)
    print(f"QR modules per code ({len(payloads):,} distinct sticker URLs, best of 3)")
    print(f"  ours (qr.matrix_rows)          {ours * 1e6:8.1f} us")
    print(f"  zxing-cpp create_barcode       {zxing * 1e6:8.1f} us  (+ to_image: {zxing_image * 1e6:.1f} us)")
    print(f"  qrcode library (qr.matrix)     {library * 1e6:8.1f} us")
    print(f"  ratio ours / zxing-cpp         {ours / zxing:8.2f}")


def peak_memory(count: int, layout: str) -> tuple[int, int]:
    """tracemalloc peak (bytes) and output size of streaming ``count`` stickers to a sink."""
    sink = Sink()
    tracemalloc.start()
    try:
        pdf.render_stickers(sink, stickers(count, seed=3), layout)
        return tracemalloc.get_traced_memory()[1], sink.size
    finally:
        tracemalloc.stop()


def bench_memory(args: argparse.Namespace, results: dict) -> None:
    pdf.render_stickers(Sink(), stickers(50), args.layout)  # tables are built once per process
    small, large = args.memory_counts
    (small_peak, small_size), (large_peak, large_size) = peak_memory(small, args.layout), peak_memory(large, args.layout)
    results.update(memory_growth=large_peak / small_peak)
    print("Memory (tracemalloc peak while streaming from a generator to a sink)")
    print(f"  {small:>7,} stickers  {small_peak / 1e6:6.2f} MB peak  ({small_size / 1e6:.2f} MB written)")
    print(f"  {large:>7,} stickers  {large_peak / 1e6:6.2f} MB peak  ({large_size / 1e6:.2f} MB written)")
    print(f"  growth {large_peak / small_peak:.2f}x for {large / small:g}x the stickers")


def bench_cli(args: argparse.Namespace, results: dict) -> None:
    """Mint and export through the operator's commands, as a print shop would."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
               "PUBLIC_BASE_URL": BASE_URL, "EXPORT_DIR": folder}
        flask = [sys.executable, "-m", "flask", "--app", "stickerreg"]
        subprocess.run([*flask, "init-db"], env=env, check=True, capture_output=True)
        create = [*flask, "batch", "create", "--count", str(args.count), "--set-size", "6",
                  "--layout", args.layout, "--product", "Bench"]
        started = time.perf_counter()
        batch_id = subprocess.run(create, env=env, check=True, capture_output=True, text=True).stdout.strip()
        minted = time.perf_counter() - started
        out = Path(folder, "cli.pdf")
        export = [*flask, "batch", "export", batch_id, "--format", "pdf", "--out", str(out)]
        exported = timed(lambda: subprocess.run(export, env=env, check=True, capture_output=True))
        size = out.stat().st_size
    results.update(cli_export=exported, cli_size=size)
    print(f"CLI, {args.count:,} stickers: batch create {minted:.2f} s, batch export --format pdf {exported:.2f} s")
    if "baseline" in results:
        print(f"  ratio     {exported / results['baseline']:8.4f}  (CLI export / baseline; "
              f"{results['baseline'] / exported:.1f}x faster), {size / 1e6:.2f} MB")


def missed_targets(results: dict) -> list[str]:
    """A line for each target the measured figures miss."""
    checks = [
        ("ours" in results, lambda: results["ours"] / results["baseline"] <= TARGET_RATIO,
         f"PDF time ratio {results.get('ours', 0) / results.get('baseline', 1):.4f} > {TARGET_RATIO}"),
        ("cli_export" in results and "baseline" in results,
         lambda: results["cli_export"] / results["baseline"] <= TARGET_RATIO,
         f"CLI export ratio {results.get('cli_export', 0) / results.get('baseline', 1):.4f} > {TARGET_RATIO}"),
        ("cli_size" in results, lambda: results["cli_size"] <= TARGET_SIZE,
         f"CLI PDF size {results.get('cli_size', 0) / 1e6:.2f} MB > {TARGET_SIZE / 1e6:g} MB"),
        ("size" in results, lambda: results["size"] <= TARGET_SIZE,
         f"PDF size {results.get('size', 0) / 1e6:.2f} MB > {TARGET_SIZE / 1e6:g} MB"),
        ("matrix" in results, lambda: results["matrix"] / results["zxing"] <= TARGET_MATRIX_RATIO,
         f"QR modules {results.get('matrix', 0) / results.get('zxing', 1):.2f}x zxing-cpp > {TARGET_MATRIX_RATIO}x"),
        ("memory_growth" in results, lambda: results["memory_growth"] <= TARGET_MEMORY_GROWTH,
         f"peak memory grew {results.get('memory_growth', 0):.2f}x > {TARGET_MEMORY_GROWTH}x"),
    ]  # fmt: skip
    return [message for measured, passed, message in checks if measured and not passed()]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="stickers in the PDF run (default 10000)")
    parser.add_argument("--layout", default="a4-3x7", choices=sorted(layouts.bundled().stickers))
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of our engine; the median counts")
    parser.add_argument("--baseline-count", type=int, help="render only this many with the baseline and scale up")
    parser.add_argument("--matrix-codes", type=int, default=3000, help="distinct codes for the matrix timing")
    parser.add_argument("--memory-counts", type=int, nargs=2, default=(1000, 10_000), metavar=("SMALL", "LARGE"))
    parser.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=(os.cpu_count() or 1) > 1,
                        help="also time workers=2 (informational)")  # fmt: skip
    parser.add_argument("--skip", nargs="*", default=[], choices=["pdf", "cli", "matrix", "memory"])
    args = parser.parse_args(argv)
    args.baseline_count = min(args.baseline_count or args.count, args.count)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results: dict = {}
    for name, bench in (("pdf", bench_pdf), ("cli", bench_cli), ("matrix", bench_matrix), ("memory", bench_memory)):
        if name not in args.skip:
            bench(args, results)
            print()
    return verdict(missed_targets(results))


if __name__ == "__main__":
    sys.exit(main())
