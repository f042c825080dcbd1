"""Spans are token-exact inside HAMMER itself (issue 9).

HAMMER's loader turns ``fake_text_pos`` into a 50-long word vector over ``pre_caption(text, 50)``;
its ``text_input_adjust`` then labels every BERT token whose ``word_ids()`` equals a marked index.
These tests replay that with the real ``tokenizers`` library: a WordPiece tokenizer built offline
with bert-base-uncased's normaliser, pre-tokenizer and [CLS]/[SEP] template (the vocabulary is a
small made-up one, so words split into several sub-word tokens, as they do in HAMMER), and check
that the labelled tokens spell exactly the add-on (text_attribute) or the swapped words
(text_swap), recovered from the caption text without trusting ``fake_text_pos``.
"""

from __future__ import annotations

import string
from collections import Counter

import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordPiece
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer
from tokenizers.processors import TemplateProcessing

from generator.config import load_config
from generator.plan import iter_plan, plan_item
from generator.text.captions import HEADLINE_MAX_WORDS, HEADLINE_MIN_WORDS, caption_prefix
from generator.text.datelines import load_cities
from generator.text.tokenize import (
    bert_words,
    dgm4_words,
    hammer_marked_words,
    hammer_span_problems,
    pre_caption,
)


@pytest.fixture(scope="module")
def cities():
    return load_cities(None, None)


@pytest.fixture(scope="module")
def wordpiece() -> Tokenizer:
    chars = string.ascii_lowercase + string.digits
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u2014", "appearing", "look", "##ing", "##s"]
    vocab += list(chars) + ["##" + c for c in chars]
    tok = Tokenizer(WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = BertNormalizer(lowercase=True)
    tok.pre_tokenizer = BertPreTokenizer()
    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tok


def labelled_text(tok: Tokenizer, text: str, fake_text_pos: list[int]) -> list[str]:
    """The words HAMMER's token labels cover, rebuilt from the tokens themselves."""
    caption = pre_caption(text, 50)  # dataset.py
    vector = [0] * 50
    for i in fake_text_pos:
        if i < 50:
            vector[i] = 1
    enc = tok.encode(caption)
    word_ids = enc.word_ids[1:-1]  # text_input_adjust drops [CLS] and [SEP]
    tokens = enc.tokens[1:-1]
    positions = [
        p for i, flag in enumerate(vector) if flag for p, w in enumerate(word_ids) if w == i
    ]
    words: list[str] = []
    for p in positions:
        piece = tokens[p]
        if piece.startswith("##") and words:
            words[-1] += piece[2:]
        else:
            words.append(piece)
    return words


def intended_words(item) -> list[str]:
    """What should be marked, from the text alone (never from fake_text_pos)."""
    if item.fake_cls == "origin":
        return []
    if item.fake_cls == "text_attribute":
        literal = item.literal_text[:-1]  # the literal headline without its full stop
        assert item.text.startswith(literal)
        return dgm4_words(item.text[len(literal) :])
    prefix = caption_prefix(item.dateline or None, " \u2014 " in item.text)
    assert item.text.startswith(prefix)
    return dgm4_words(item.text[len(prefix) :])


@pytest.mark.parametrize("bucket", ["origin", "text_attribute", "text_swap"])
@pytest.mark.parametrize("em_dash", [True, False])
def test_hammer_labels_exactly_the_intended_words_over_thousands_of_seeds(
    bucket, em_dash, cities, wordpiece
):
    checked = 0
    for seed in range(1200):
        cfg = load_config(cli={"SEED": seed, "USE_EM_DASH": em_dash}, env={})
        item = plan_item(cfg, cities, bucket, seed % 7)
        want = intended_words(item)
        pos = list(item.fake_text_pos)
        assert hammer_span_problems(item.text, pos) == [], item.text
        assert bert_words(pre_caption(item.text)) == dgm4_words(item.text), item.text
        assert hammer_marked_words(item.text, pos) == want, item.text
        assert labelled_text(wordpiece, item.text, pos) == want, item.text
        checked += 1
    assert checked == 1200


def test_diff_rule_marks_only_words_not_shared_with_the_literal_caption(cities, wordpiece):
    marked_fewer = 0
    for seed in range(1500):
        full = plan_item(load_config(cli={"SEED": seed}, env={}), cities, "text_swap", 0)
        cfg = load_config(cli={"SEED": seed, "TEXT_SWAP_SPANS": "diff"}, env={})
        item = plan_item(cfg, cities, "text_swap", 0)
        assert item.text == full.text  # the rule changes the span, never the caption
        assert set(item.fake_text_pos) <= set(full.fake_text_pos) and item.fake_text_pos
        words = dgm4_words(item.text)
        literal = Counter(dgm4_words(item.literal_text))
        for i in set(full.fake_text_pos) - set(item.fake_text_pos):
            assert literal[words[i]] > 0, (item.text, words[i])  # unmarked => shared
        marked = [words[i] for i in item.fake_text_pos]
        assert hammer_span_problems(item.text, list(item.fake_text_pos)) == []
        assert labelled_text(wordpiece, item.text, list(item.fake_text_pos)) == marked
        marked_fewer += len(item.fake_text_pos) < len(full.fake_text_pos)
    assert marked_fewer > 500  # "a", "in", "at" ... usually line up with the literal caption


def test_a_typographic_apostrophe_would_shift_every_later_label(wordpiece):
    # the bug of issue 9, replayed: pre_caption keeps ’, BERT splits on it
    text = "RUI\u2019AN, China \u2014 A nurse waves, appearing tense."
    pos = [6, 7]  # "appearing tense" on pre_caption words
    assert dgm4_words(text)[6:8] == ["appearing", "tense"]
    assert labelled_text(wordpiece, text, pos) == ["nurse", "waves"]  # two words early
    assert hammer_span_problems(text, pos)


@pytest.mark.parametrize("rule", ["all", "diff"])
def test_a_3000_item_plan_is_token_exact_headline_length_and_varied(cities, rule):
    cfg = load_config(
        cli={
            "TARGET_LITERAL": 1000,
            "TARGET_INV_EMO": 1000,
            "TARGET_IRRELEV": 1000,
            "TEXT_SWAP_SPANS": rule,
        },
        env={},
    )
    by_cls: dict[str, list] = {}
    for item in iter_plan(cfg, cities):
        by_cls.setdefault(item.fake_cls, []).append(item)
    assert sorted(by_cls) == ["origin", "text_attribute", "text_swap"]
    for cls, items in by_cls.items():
        assert len(items) == 1000
        exact = [hammer_span_problems(i.text, list(i.fake_text_pos)) == [] for i in items]
        assert all(exact), cls
        if rule == "all" or cls != "text_swap":  # the diff rule has its own test above
            wrong = [
                i.text
                for i in items
                if hammer_marked_words(i.text, list(i.fake_text_pos)) != intended_words(i)
            ]
            assert wrong == [], (cls, wrong[:3])
        lengths = [len(dgm4_words(i.text)) for i in items]
        inside = sum(HEADLINE_MIN_WORDS <= n <= HEADLINE_MAX_WORDS for n in lengths)
        assert inside >= 0.99 * len(items), (cls, Counter(lengths))
        assert len({i.text for i in items}) >= 0.99 * len(items), cls


def test_validate_reports_a_caption_that_is_not_token_exact(tmp_path):
    import json

    from fixtures_store import make_store

    from generator.validate import validate_store

    store = make_store(tmp_path, per_bucket=2)
    assert not [p for p in validate_store(store.root) if "HAMMER tokens" in p]
    records = [dict(r) for r in store.records]
    rec = next(r for r in records if r["fake_cls"] == "text_attribute")
    sep = " \u2014 " if " \u2014 " in rec["text"] else ": "
    body = rec["text"].split(sep, 1)[1]
    text = "XI\u2019AN, China \u2014 " + body  # a typographic apostrophe, as issue 9 found
    shift = len(dgm4_words(text)) - len(dgm4_words(rec["text"]))
    rec["text"] = text
    rec["fake_text_pos"] = [i + shift for i in rec["fake_text_pos"]]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    (store.root / "metadata.jsonl").write_text(lines, encoding="utf-8")
    (store.root / "metadata.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    problems = [p for p in validate_store(store.root) if "HAMMER tokens" in p]
    assert len(problems) == 1 and "xi\u2019an" in problems[0] and "shift" in problems[0]


def test_text_swap_span_description_for_the_card():
    from generator.text.captions import text_swap_span_description

    assert "every word" in text_swap_span_description("all")
    assert "differ" in text_swap_span_description("diff")
    with pytest.raises(ValueError, match="TEXT_SWAP_SPANS"):
        text_swap_span_description("some")


def test_a_store_keeps_one_text_swap_rule(tmp_path):
    from conftest import run_cli

    out = str(tmp_path / "DGM4")
    common = (
        "generate",
        "--backend",
        "composite",
        "--out",
        out,
        "--origin",
        "0",
        "--text-attribute",
        "0",
        "--composite-fault-rate",
        "0",
    )
    first = run_cli(*common, "--text-swap", "1")
    assert first.returncode == 0, first.stderr
    mixed = run_cli(*common, "--text-swap", "2", "--text-swap-spans", "diff")
    assert mixed.returncode == 2 and mixed.stderr.count("\n") == 1
    assert "TEXT_SWAP_SPANS=all" in mixed.stderr
    lines = (tmp_path / "DGM4" / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1  # nothing written under the other rule
