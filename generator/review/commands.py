"""The `dgm4plus review` and `dgm4plus reject` commands (argument parsing and the one-line
outcomes; the work is in server.py, static_page.py and generator/reviews.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator import console
from generator.errors import UsageError


def review_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data_dir", nargs="?", type=Path, default=Path("DGM4"), help="the store (default DGM4)"
    )
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument(
        "--static",
        type=Path,
        default=None,
        metavar="OUT.html",
        help="write a self-contained page (no server) for sharing, then exit",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="with --static: at most this many samples, spread over the store (default 300)",
    )


def reject_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="+", type=int, metavar="ID", help="sample ids (the `id` field)")
    p.add_argument(
        "--reason", default=None, help="why (required unless --undo); counted on the release card"
    )
    p.add_argument("--data-dir", type=Path, default=Path("DGM4"), help="the store (default DGM4)")
    p.add_argument("--undo", action="store_true", help="take back the latest decision on each id")


def _check_store(root: Path) -> None:
    if not root.is_dir():
        raise UsageError(f"no dataset store at {root} (run `dgm4plus generate --out {root}` first)")


def cmd_review(ns: argparse.Namespace) -> int:
    root: Path = ns.data_dir
    _check_store(root)
    if ns.static is not None:
        from generator.review.static_page import DEFAULT_LIMIT, write_static

        out, n, size = write_static(root, ns.static, ns.limit or DEFAULT_LIMIT)
        console.notice(f"wrote {out} ({n} samples, {size / 1e6:.1f} MB; opens with no server)")
        return 0
    if ns.limit is not None:
        raise UsageError("--limit goes with --static")
    if not 0 <= ns.port <= 65535:
        raise UsageError(f"--port {ns.port}: must be 0 (any free port) to 65535")
    from generator.review.server import serve

    return serve(root, ns.port)


def cmd_reject(ns: argparse.Namespace) -> int:
    from generator.lock import StoreLock
    from generator.review.catalog import Catalog
    from generator.reviews import append_review, clean_reason, make_review

    root: Path = ns.data_dir
    _check_store(root)
    reason = clean_reason(ns.reason)
    if ns.undo and reason:
        raise UsageError("--undo takes no --reason")
    if not ns.undo and reason is None:
        raise UsageError(
            "--reason: say why these samples are rejected (it goes on the release card)"
        )
    decision = "undo" if ns.undo else "reject"
    with StoreLock(root, purpose="reject", create=False):
        catalog = Catalog(root, background=False)
        missing = [i for i in ns.ids if catalog.row_of(i) is None]
        if missing:
            raise UsageError(
                f"{root}/metadata.jsonl has no sample with id {', '.join(map(str, missing))}; nothing written"
            )
        for ident in dict.fromkeys(ns.ids):
            append_review(root, make_review(ident, decision, reason))
    what = "took back the latest decision on" if ns.undo else "rejected"
    console.notice(
        f"{what} {len(set(ns.ids))} sample(s) of {root}" + (f" ({reason})" if reason else "")
    )
    return 0
