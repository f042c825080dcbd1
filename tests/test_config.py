"""Config: precedence (CLI > env > TOML > defaults), types and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import Config, ConfigError, load_config


def test_defaults_follow_the_seed_except_seed_and_targets():
    cfg = load_config()
    assert cfg.SEED == 123456789
    assert cfg.targets == {"origin": 1000, "text_attribute": 1000, "text_swap": 1000}
    assert (cfg.MIN_FACES, cfg.MAX_FACES, cfg.min_prob, cfg.min_side_px) == (1, 3, 0.80, 110)
    assert (cfg.POST_W, cfg.POST_H, cfg.CONCURRENCY, cfg.SNAP_EVERY) == (400, 256, 5, 50)
    assert (cfg.TEXT_CONF_THRESH, cfg.OCR_SCALE, cfg.OCR_MAX_PASSES) == (60, 2, 1)
    assert (cfg.PHASH_DISTANCE_MAX, cfg.GEN_QUALITY, cfg.MAX_IMAGE_CALLS) == (3, "low", None)
    assert cfg.MISPLACED_BG_RATE == 1.0 and cfg.STRICT_NO_TEXT is False
    assert (
        Path("DGM4") == cfg.OUT_ROOT and cfg.GEN_MODEL == "gpt-image-2"
    )  # gpt-image-1 is shut down


def test_precedence_cli_over_env_over_toml(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("SEED = 1\nconcurrency = 2\nMISPLACED_BG_RATE = 0.5\nSTRICT_NO_TEXT = true\n")
    env = {"DGM4PLUS_CONCURRENCY": "3", "DGM4PLUS_SEED": "7", "UNRELATED": "x"}
    cfg = load_config(cli={"SEED": "9"}, env=env, toml_path=toml)
    assert cfg.SEED == 9  # CLI wins
    assert cfg.CONCURRENCY == 3  # env beats TOML
    assert cfg.MISPLACED_BG_RATE == 0.5 and cfg.STRICT_NO_TEXT is True  # TOML beats defaults


def test_toml_dgm4plus_table_is_accepted(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("[dgm4plus]\nTARGET_LITERAL = 4\nMAX_IMAGE_CALLS = 10\n")
    cfg = load_config(toml_path=toml)
    assert cfg.TARGET_LITERAL == 4 and cfg.MAX_IMAGE_CALLS == 10


@pytest.mark.parametrize(
    ("cli", "key"),
    [
        ({"TARGET_LITERAL": "-1"}, "TARGET_LITERAL"),
        ({"MIN_FACES": "4", "MAX_FACES": "3"}, "MIN_FACES"),
        ({"MISPLACED_BG_RATE": "1.5"}, "MISPLACED_BG_RATE"),
        ({"MISPLACED_BG_RATE": "nan"}, "MISPLACED_BG_RATE"),
        ({"min_prob": "-0.1"}, "min_prob"),
        ({"CONCURRENCY": "0"}, "CONCURRENCY"),
        ({"CONCURRENCY": "two"}, "CONCURRENCY"),
        ({"GEN_QUALITY": "ultra"}, "GEN_QUALITY"),
        ({"BACKEND": "dalle"}, "BACKEND"),
        ({"STRICT_NO_TEXT": "maybe"}, "STRICT_NO_TEXT"),
        ({"MAX_IMAGE_CALLS": "-5"}, "MAX_IMAGE_CALLS"),
        ({"JPEG_QUALITY": "101"}, "JPEG_QUALITY"),
    ],
)
def test_invalid_values_name_the_key(cli, key):
    with pytest.raises(ConfigError) as err:
        load_config(cli=cli)
    assert err.value.key == key
    assert "\n" not in str(err.value)


def test_unknown_toml_key_and_bad_toml(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("SEED = 1\nCONCURENCY = 4\n")
    with pytest.raises(ConfigError, match="CONCURENCY: unknown key"):
        load_config(toml_path=toml)
    toml.write_text("SEED = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(toml_path=toml)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(toml_path=tmp_path / "missing.toml")


def test_unknown_env_variable_is_refused():
    with pytest.raises(ConfigError, match="DGM4PLUS_SEEED"):
        load_config(env={"DGM4PLUS_SEEED": "1"})


def test_optional_and_none():
    cfg = load_config(cli={"MAX_IMAGE_CALLS": "none", "DETECT_SIZE": "None"})
    assert cfg.MAX_IMAGE_CALLS is None and cfg.DETECT_SIZE is None
    assert load_config(cli={"MAX_IMAGE_CALLS": "12"}).MAX_IMAGE_CALLS == 12


def test_replace_revalidates():
    cfg = Config()
    assert cfg.replace(SEED=5).SEED == 5
    with pytest.raises(ConfigError):
        cfg.replace(MAX_FACES=0)
