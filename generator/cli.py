"""The ``dgm4plus`` command: plan, generate, validate, export, export-dgm4, push."""

from __future__ import annotations

import argparse
import os
import sys
import typing
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

from generator.config import FLAG_ALIASES, Config, flag_for, load_config
from generator.errors import UsageError


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_knobs(p: argparse.ArgumentParser, only: Sequence[str] | None = None) -> None:
    """One flag per config knob (kebab case), values parsed and validated by load_config."""
    g = p.add_argument_group("knobs (also DGM4PLUS_<KNOB> in the environment or a TOML --config)")
    g.add_argument("--config", dest="_config", metavar="FILE", help="TOML file with knob values")
    hints = typing.get_type_hints(Config)
    for f in fields(Config):
        if only is not None and f.name not in only:
            continue
        flags = list(FLAG_ALIASES.get(f.name, ()))
        if flag_for(f.name) not in flags:
            flags.append(flag_for(f.name))
        help_text = f"{f.metadata['help']} [{f.name}, default {f.default}]"
        if hints[f.name] is bool:
            g.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction,
                           default=None, help=help_text)
        else:
            g.add_argument(*flags, dest=f.name, metavar=f.name, default=None, help=help_text)


def _config_from(ns: argparse.Namespace, **fixed: Any) -> Config:
    cli = {f.name: getattr(ns, f.name, None) for f in fields(Config)}
    cli.update({k: v for k, v in fixed.items() if v is not None})
    return load_config(cli=cli, env=os.environ, toml_path=getattr(ns, "_config", None))


PLAN_KNOBS = ("SEED", "TARGET_LITERAL", "TARGET_INV_EMO", "TARGET_IRRELEV", "MISPLACED_BG_RATE",
              "CITY_DATA_PATH", "USE_EM_DASH", "DATELINE_RATE")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dgm4plus", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sp = sub.add_parser("plan", help="print the scene plan as JSONL (free: no image calls)")
    _add_knobs(sp, PLAN_KNOBS)

    sg = sub.add_parser("generate", help="generate (or resume) a dataset store")
    _add_knobs(sg)

    sv = sub.add_parser("validate", help="check a store: images, ids, captions, spans, snapshots")
    sv.add_argument("data_dir", type=Path)

    se = sub.add_parser("export", help="write a Parquet + card folder that load_dataset reads")
    se.add_argument("--data-dir", type=Path, default=Path("DGM4"))
    se.add_argument("--out", type=Path, default=Path("dgm4plus"))
    se.add_argument("--license", default="cc-by-nc-4.0")

    sd = sub.add_parser("export-dgm4", help="write a DGM4/HAMMER-compatible tree")
    sd.add_argument("--data-dir", type=Path, default=Path("DGM4"))
    sd.add_argument("--out", type=Path, required=True)
    sd.add_argument("--origin-as", choices=("origin", "orig"), default="origin",
                    help="spell the literal class as DGM4's pristine 'orig' (HAMMER: real)")

    sh = sub.add_parser("push", help="publish every config and the card to the Hugging Face Hub")
    sh.add_argument("--data-dir", type=Path, default=Path("DGM4"))
    sh.add_argument("--repo-id", required=True, metavar="ORG/NAME")
    sh.add_argument("--private", action="store_true")
    sh.add_argument("--tag", default=None)
    sh.add_argument("--license", default="cc-by-nc-4.0")
    return p


def _cmd_plan(ns: argparse.Namespace) -> int:
    from generator.plan import iter_plan
    from generator.text.datelines import load_cities

    cfg = _config_from(ns)
    cities = load_cities(cfg.CITY_DATA_PATH)
    out = sys.stdout
    for item in iter_plan(cfg, cities):
        out.write(item.to_json())
        out.write("\n")
    out.flush()
    return 0


def _cmd_generate(ns: argparse.Namespace) -> int:
    from generator.pipeline import run_generate

    cfg = _config_from(ns)
    return run_generate(cfg)


def _cmd_validate(ns: argparse.Namespace) -> int:
    from generator.validate import validate_store

    problems = validate_store(ns.data_dir)
    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) in {ns.data_dir}")
        return 1
    print(f"{ns.data_dir}: valid")
    return 0


def _quiet_datasets() -> None:
    """The CLI prints one line per step; datasets' per-shard progress bars are noise here."""
    import datasets

    datasets.disable_progress_bars()


def _cmd_export(ns: argparse.Namespace) -> int:
    from generator.release.export import export_dataset

    _quiet_datasets()
    out = export_dataset(ns.data_dir, ns.out, license=ns.license)
    print(f"exported {ns.data_dir} -> {out}")
    return 0


def _cmd_export_dgm4(ns: argparse.Namespace) -> int:
    from generator.release.dgm4_export import export_dgm4

    out = export_dgm4(ns.data_dir, ns.out, origin_as=ns.origin_as)
    print(f"exported {ns.data_dir} -> {out} (DGM4 layout)")
    return 0


def _cmd_push(ns: argparse.Namespace) -> int:
    from generator.release.hub import push_release

    _quiet_datasets()
    url = push_release(ns.data_dir, ns.repo_id, private=ns.private, tag=ns.tag, license=ns.license)
    print(f"pushed {ns.data_dir} -> {url}")
    return 0


COMMANDS = {
    "plan": _cmd_plan,
    "generate": _cmd_generate,
    "validate": _cmd_validate,
    "export": _cmd_export,
    "export-dgm4": _cmd_export_dgm4,
    "push": _cmd_push,
}


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return COMMANDS[ns.command](ns)
    except UsageError as exc:
        print(f"dgm4plus: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `dgm4plus plan | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("dgm4plus: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
