"""The ``dgm4plus`` command (also ``python -m generator``).

Every subcommand is one :class:`Command` entry in :data:`COMMANDS`. To add one, append an entry:
its ``args`` function adds the subcommand's flags (give every flag a ``help=``, and mention it in
README.md's CLI reference: ``tests/test_cli.py`` checks both) and its ``run`` function gets the
parsed namespace and returns the exit code. Either may be a callable or a ``"module:function"``
string; ``run`` strings are imported only when that command runs, so heavy modules stay out of
``--help``. Keep ``args`` functions light (here or in a module that imports nothing heavy).

Generation knobs are not flags written by hand: each field of :class:`generator.config.Config`
becomes a flag with its help text and, where the field's metadata lists ``choices``, the values.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

from generator import __version__, console
from generator.config import FLAG_ALIASES, Config, flag_for, load_config
from generator.errors import UsageError
from generator.meta import LICENSE

RunFn = Callable[[argparse.Namespace], int]
ArgsFn = Callable[[argparse.ArgumentParser], None]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, flags and what it runs."""

    name: str
    help: str
    run: RunFn | str
    args: ArgsFn | str | None = None


def _resolve(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return fn


# ----------------------------------------------------------------------------------------------
# Knob flags (from the Config dataclass)


def knob_choices(f: Any) -> tuple[str, ...] | None:
    """The values an enumerated knob accepts, from its field metadata (a sequence or a callable)."""
    choices = f.metadata.get("choices")
    if choices is None:
        return None
    if callable(choices):
        choices = choices()
    return tuple(str(c) for c in choices)


def _default_text(value: Any) -> str:
    if value is None:
        return "none"
    return str(value)


def knob_help(f: Any) -> str:
    parts = [str(f.metadata["help"])]
    choices = knob_choices(f)
    if choices:
        parts.append(f"one of: {', '.join(choices)}")
    parts.append(f"[{f.name}, default {_default_text(f.default)}]")
    return "; ".join(parts[:-1]) + " " + parts[-1]


def knob_flags(name: str) -> list[str]:
    flags = list(FLAG_ALIASES.get(name, ()))
    if flag_for(name) not in flags:
        flags.append(flag_for(name))
    return flags


def add_knobs(p: argparse.ArgumentParser, only: Sequence[str] | None = None) -> None:
    """One flag per config knob (kebab case), values parsed and validated by load_config."""
    g = p.add_argument_group("knobs (also DGM4PLUS_<KNOB> in the environment or a TOML --config)")
    g.add_argument(
        "--config",
        dest="_config",
        metavar="FILE",
        help="TOML file with knob values (top-level keys, or a [dgm4plus] table)",
    )
    hints = typing.get_type_hints(Config)
    for f in fields(Config):
        if only is not None and f.name not in only:
            continue
        help_text = knob_help(f)
        if hints[f.name] is bool:
            g.add_argument(
                *knob_flags(f.name),
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            choices = knob_choices(f)
            metavar = "{" + ",".join(choices) + "}" if choices else f.name
            g.add_argument(
                *knob_flags(f.name), dest=f.name, metavar=metavar, default=None, help=help_text
            )


def config_from(ns: argparse.Namespace, **fixed: Any) -> Config:
    """The run's Config: flags over DGM4PLUS_* environment over the TOML file over defaults."""
    cli = {f.name: getattr(ns, f.name, None) for f in fields(Config)}
    cli.update({k: v for k, v in fixed.items() if v is not None})
    return load_config(cli=cli, env=os.environ, toml_path=getattr(ns, "_config", None))


PLAN_KNOBS = (
    "PRESET",
    "SEED",
    "TARGET_LITERAL",
    "TARGET_INV_EMO",
    "TARGET_IRRELEV",
    "MISPLACED_BG_RATE",
    "CITY_DATA_PATH",
    "USE_EM_DASH",
    "DATELINE_RATE",
    "TEXT_SWAP_SPANS",
)


# ----------------------------------------------------------------------------------------------
# Flags of each command


def _args_plan(p: argparse.ArgumentParser) -> None:
    add_knobs(p, PLAN_KNOBS)


def _args_generate(p: argparse.ArgumentParser) -> None:
    add_knobs(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="make no API call: print items to make, expected calls, dollars and time",
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="use the Batch API (half price, within 24 h): submit, or resume a batch",
    )


def _args_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, help="the store folder (holds metadata.jsonl)")


def _data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path("DGM4"),
        metavar="DIR",
        help="the store to read (default: DGM4)",
    )


def _license(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--license",
        default=LICENSE,
        metavar="ID",
        help=f"Hub licence id written into the card (default: {LICENSE})",
    )


def _fake_image_box(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fake-image-box",
        choices=("none", "full"),
        default="none",
        help="released fake_image_box: none = DGM4's [] (no region edited), full = the whole "
        "frame [0, 0, POST_W, POST_H] for global grounding; one of: none, full (default: none)",
    )


def _args_export(p: argparse.ArgumentParser) -> None:
    _data_dir(p)
    _fake_image_box(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("dgm4plus"),
        metavar="DIR",
        help="folder to write: Parquet per config and split, README.md card (default: dgm4plus)",
    )
    _license(p)


def _args_export_dgm4(p: argparse.ArgumentParser) -> None:
    _data_dir(p)
    _fake_image_box(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder to write the DGM4-layout tree into (use it as HAMMER's datasets/)",
    )
    p.add_argument(
        "--origin-as",
        choices=("origin", "orig"),
        default="origin",
        help="spell the literal class as DGM4's pristine 'orig' (HAMMER: real); "
        "one of: origin, orig (default: origin)",
    )


def _args_push(p: argparse.ArgumentParser) -> None:
    _data_dir(p)
    _fake_image_box(p)
    p.add_argument(
        "--repo-id", required=True, metavar="ORG/NAME", help="Hub dataset repository to publish to"
    )
    p.add_argument(
        "--private", action="store_true", help="create the repository as private if it is new"
    )
    p.add_argument(
        "--tag", default=None, metavar="TAG", help="also tag the pushed revision (e.g. v1.0)"
    )
    _license(p)


# ----------------------------------------------------------------------------------------------
# What each command runs


def _cmd_plan(ns: argparse.Namespace) -> int:
    from generator.plan import iter_plan
    from generator.text.datelines import load_cities

    cfg = config_from(ns)
    cities = load_cities(cfg.CITY_DATA_PATH)
    out = sys.stdout
    for item in iter_plan(cfg, cities):
        out.write(item.to_json())
        out.write("\n")
    out.flush()
    return 0


def _cmd_generate(ns: argparse.Namespace) -> int:
    from generator.pipeline import run_generate

    cfg = config_from(ns)
    if getattr(ns, "dry_run", False):  # no API call, nothing written
        from generator.dry_run import run_dry

        return run_dry(cfg, batch=bool(getattr(ns, "batch", False)))
    if getattr(ns, "batch", False):
        from generator.batch import run_batch

        return run_batch(cfg)
    if cfg.RAY:  # the shards as Ray tasks, then a merge
        from generator.ray_engine import run_ray

        return run_ray(cfg)
    return run_generate(cfg)


def _cmd_validate(ns: argparse.Namespace) -> int:
    from generator.validate import validate_store

    problems = validate_store(ns.data_dir)
    print(_review_coverage(ns.data_dir))
    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) in {ns.data_dir}")
        return 1
    print(f"{ns.data_dir}: valid")
    return 0


def _review_coverage(root: Path) -> str:
    """One line: how much of the store a human has reviewed (informational, never a problem)."""
    from generator.reviews import review_summary

    try:
        return review_summary(root).line()
    except UsageError as exc:  # a bad ledger line is listed among the problems
        return f"review: unknown ({exc})"


def _quiet_datasets() -> None:
    """The CLI prints one line per step; datasets' per-shard progress bars are noise here."""
    import datasets

    datasets.disable_progress_bars()


def _cmd_export(ns: argparse.Namespace) -> int:
    from generator.release.export import export_dataset

    _quiet_datasets()
    out = export_dataset(ns.data_dir, ns.out, license=ns.license, fake_image_box=ns.fake_image_box)
    print(f"exported {ns.data_dir} -> {out}")
    return 0


def _cmd_export_dgm4(ns: argparse.Namespace) -> int:
    from generator.release.dgm4_export import export_dgm4

    out = export_dgm4(ns.data_dir, ns.out, origin_as=ns.origin_as, fake_image_box=ns.fake_image_box)
    print(f"exported {ns.data_dir} -> {out} (DGM4 layout)")
    return 0


def _cmd_push(ns: argparse.Namespace) -> int:
    from generator.release.hub import push_release

    _quiet_datasets()
    url = push_release(
        ns.data_dir,
        ns.repo_id,
        private=ns.private,
        tag=ns.tag,
        license=ns.license,
        fake_image_box=ns.fake_image_box,
    )
    print(f"pushed {ns.data_dir} -> {url}")
    return 0


#: The subcommands, in the order ``--help`` lists them. Add yours here (one entry).
COMMANDS: list[Command] = [
    Command("plan", "print the scene plan as JSONL (free: no image calls)", _cmd_plan, _args_plan),
    Command("generate", "generate (or resume) a dataset store", _cmd_generate, _args_generate),
    Command(
        "validate",
        "check a store: images, ids, captions, spans, snapshots",
        _cmd_validate,
        _args_validate,
    ),
    Command(
        "export",
        "write a Parquet + card folder that load_dataset reads",
        _cmd_export,
        _args_export,
    ),
    Command(
        "export-dgm4", "write a DGM4/HAMMER-compatible tree", _cmd_export_dgm4, _args_export_dgm4
    ),
    Command(
        "push",
        "publish every config and the card to the Hugging Face Hub",
        _cmd_push,
        _args_push,
    ),
    Command(
        "review",
        "review a store in the browser (boxes, marked words, reject with a reason); --static for a file",
        "generator.review.commands:cmd_review",
        "generator.review.commands:review_args",
    ),
    Command(
        "reject",
        "reject samples by id: left out of every release, never generated again",
        "generator.review.commands:cmd_reject",
        "generator.review.commands:reject_args",
    ),
    Command(
        "repair",
        "rebuild a lost or damaged metadata.jsonl from metadata.json and the images (under the lock)",
        "generator.repair:cmd_repair",
        "generator.repair:repair_args",
    ),
    Command(
        "merge",
        "unite shard stores (generate --shard I/N) into one store, deterministically",
        "generator.shards:cmd_merge",
        "generator.shards:merge_args",
    ),
]


def command(name: str) -> Command:
    for c in COMMANDS:
        if c.name == name:
            return c
    raise KeyError(name)


# ----------------------------------------------------------------------------------------------
# The parser


def _add_output_flags(p: argparse.ArgumentParser, suppress: bool) -> None:
    """-v/-q/--no-progress, accepted before or after the subcommand."""
    g = p.add_argument_group("output")
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more detail on stderr: -v shows info lines (API retries), -vv debug",
    )
    g.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="errors only on stderr (no notices, warnings or progress bars)",
    )
    g.add_argument(
        "--no-progress",
        dest="no_progress",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="no progress bars (log lines still print)",
    )


#: Shells ``--print-completion`` can write a script for (shtab's).
COMPLETION_SHELLS = ("bash", "zsh", "tcsh", "fish", "powershell")


class _PrintCompletion(argparse.Action):
    """``--print-completion SHELL``: shtab is imported only when a script is asked for."""

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: Any = None
    ) -> None:
        import shtab

        print(shtab.complete(build_parser(), shell=value))
        parser.exit(0)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, just that command's flags are built (the others keep
    their name and help), so a command imports only what it needs to parse its own flags."""
    p = _Parser(
        prog="dgm4plus",
        description="Generate, check, export and publish the DGM4+ dataset.",
        epilog="Run `dgm4plus COMMAND --help` for the flags of one command.",
    )
    p.add_argument("--version", action="version", version=f"dgm4plus {__version__}")
    p.add_argument(
        "--print-completion",
        choices=COMPLETION_SHELLS,
        action=_PrintCompletion,
        help="print a shell completion script for the named shell",
    )
    _add_output_flags(p, suppress=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for cmd in COMMANDS:
        sp = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd.args is not None and only in (None, cmd.name):
            _resolve(cmd.args)(sp)
        _add_output_flags(sp, suppress=True)
    return p


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named on the line (the first word that is one), if any."""
    names = {c.name for c in COMMANDS}
    for word in argv:
        if word in names:
            return word
        if not word.startswith("-"):
            return None
    return None


def _parse(argv: Sequence[str]) -> argparse.Namespace | int:
    # Only the named command's flags are built (none for --version, --help or no command):
    # --print-completion builds the whole parser itself.
    parser = build_parser(only=_command_in(argv) or "")
    if not argv:
        parser.print_help(sys.stderr)
        return 2
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, a bad flag
        return exc.code if isinstance(exc.code, int) else 2
    if ns.command is None:
        parser.print_usage(sys.stderr)
        print("dgm4plus: error: a command is required (see --help)", file=sys.stderr)
        return 2
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parse(list(sys.argv[1:] if argv is None else argv))
    if isinstance(ns, int):
        return ns
    verbosity = -1 if ns.quiet else ns.verbose
    from generator import redact

    redact.install()  # API key and HF token masked in every log record (SDK debug logs too)
    console.configure(verbosity=verbosity, progress=not ns.no_progress)
    try:
        return int(_resolve(command(ns.command).run)(ns))
    except UsageError as exc:
        print(f"dgm4plus: error: {redact.mask(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `dgm4plus plan | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("dgm4plus: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
