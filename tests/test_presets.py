"""`--preset dgm4plus-2025`: the DGM4+ paper's composition, under TOML, environment and flags."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from generator.config import load_config
from generator.errors import ConfigError
from generator.presets import PRESETS


def test_preset_sets_the_papers_composition_and_knobs():
    cfg = load_config(cli={"PRESET": "dgm4plus-2025"}, env={})
    assert cfg.targets == {"origin": 2000, "text_attribute": 1500, "text_swap": 1500}
    assert cfg.total_target == 5000
    assert (cfg.GEN_SIZE, cfg.GEN_QUALITY, cfg.POST_W, cfg.POST_H) == ("1024x1024", "low", 400, 256)
    assert (cfg.MIN_FACES, cfg.MAX_FACES, cfg.PHASH_DISTANCE_MAX) == (1, 3, 3)
    assert cfg.STRICT_NO_TEXT is True and cfg.PRESET == "dgm4plus-2025"
    # gpt-image-1 is shut down: the preset keeps today's default model
    assert "GEN_MODEL" not in PRESETS["dgm4plus-2025"]
    assert cfg.GEN_MODEL == load_config(env={}).GEN_MODEL


def test_precedence_defaults_preset_toml_env_flags(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('preset = "dgm4plus-2025"\nTARGET_INV_EMO = 7\nPOST_W = 320\n')
    env = {"DGM4PLUS_POST_W": "352", "DGM4PLUS_TARGET_IRRELEV": "9"}
    cfg = load_config(cli={"TARGET_IRRELEV": 11}, env=env, toml_path=toml)
    assert cfg.TARGET_LITERAL == 2000  # preset over default
    assert cfg.TARGET_INV_EMO == 7  # TOML over preset
    assert cfg.POST_W == 352  # env over TOML
    assert cfg.TARGET_IRRELEV == 11  # flag over env
    assert cfg.STRICT_NO_TEXT is True
    # a preset named in the environment works the same way; a flag still wins
    cfg = load_config(cli={"STRICT_NO_TEXT": False}, env={"DGM4PLUS_PRESET": "dgm4plus-2025"})
    assert cfg.TARGET_LITERAL == 2000 and cfg.STRICT_NO_TEXT is False


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="PRESET: must be one of dgm4plus-2025; got 'dgm4'"):
        load_config(cli={"PRESET": "dgm4"}, env={})


def test_plan_preset_flag_plans_5000_items_and_bad_name_is_one_line():
    proc = run_cli("plan", "--preset", "dgm4plus-2025", check=True)
    counts: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        cls = json.loads(line)["fake_cls"]
        counts[cls] = counts.get(cls, 0) + 1
    assert counts == {"origin": 2000, "text_attribute": 1500, "text_swap": 1500}
    bad = run_cli("plan", "--preset", "nope")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "PRESET" in bad.stderr
