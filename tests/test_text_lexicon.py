"""Size, shape and coherence of the word lists."""

from __future__ import annotations

import re

import pytest

from generator.text import lexicon as lx
from generator.text.captions import MAX_BODY_WORDS
from generator.text.grammar import PREPOSITIONS, article_problems
from generator.text.scene import SHOT_WEIGHTS, compatible_events, realistic_backdrops_for
from generator.text.tokenize import words_untruncated


def test_minimum_sizes() -> None:
    assert len(lx.ROLES) >= 80
    assert len(lx.EVENTS) >= 60
    assert len(lx.REALISTIC_BACKDROPS) >= 40
    assert len(set(lx.absurd_backdrops())) >= 1000
    assert len(lx.AFFECT_PAIRS) >= 20
    assert len(lx.SWAP_SUBJECTS) >= 40
    assert len(lx.SWAP_ACTIONS) >= 40
    assert len(lx.SWAP_PLACES) >= 40
    assert len(lx.LIGHTING) >= 12
    assert [shot for shot, _ in SHOT_WEIGHTS] == ["wide shot", "medium shot", "close-up"]
    assert sum(weight for _, weight in SHOT_WEIGHTS) == pytest.approx(1.0)


def test_absurd_backdrops_are_distinct_and_well_formed() -> None:
    everything = lx.absurd_backdrops()
    phrases = [phrase for _, phrase in everything]
    assert len(set(phrases)) == len(phrases)
    assert len(lx.absurd_backdrop_families()) == len(lx.ABSURD_FAMILY_WEIGHTS) == 5
    for prep, phrase in everything:
        assert prep in ("in", "at", "on", "while"), prep
        assert phrase == phrase.strip() and "  " not in phrase
        assert not article_problems(f"{prep} {phrase}"), phrase
        assert "-" not in phrase and "/" not in phrase and "'" not in phrase
    # a few that must exist, as the brief's examples of blatant impossibility
    assert ("in", "a cathedral carved from melting ice cream") in everything
    assert ("on", "a subway platform on the surface of the moon") in everything
    assert ("in", "a corridor of suspended stardust") in everything
    assert ("in", "a newsroom inside an hourglass") in everything


def test_roles_and_events_are_well_formed() -> None:
    for key, role in lx.ROLES.items():
        assert key == role.singular
        assert role.tags and all(tag in lx.TAGS and tag != "general" for tag in role.tags)
        assert role.plural != role.singular
        assert not re.search(r"[-/'.,]", role.singular + role.plural)
    for key, event in lx.EVENTS.items():
        assert key == event.base.replace(" ", "_")
        assert event.tags and all(tag in lx.TAGS for tag in event.tags)
        third, base, ing = (event.third.split()[0], event.base.split()[0], event.ing.split()[0])
        assert third in (base + "s", base + "es", base[:-1] + "ies"), event.key
        assert ing.endswith("ing")
        assert event.third.split()[1:] == event.ing.split()[1:]
        assert words_untruncated(event.base)[-1] not in PREPOSITIONS
        assert not re.search(r"[-/'.,]", event.third + event.base + event.ing)


def test_every_role_has_enough_events() -> None:
    for role in lx.ROLES:
        events = compatible_events(role)
        assert len(events) >= 20, role
        own = [e for e in events if "general" not in lx.EVENTS[e].tags]
        assert own, f"{role} has no event of its own field"


def test_every_role_event_pair_has_a_matching_realistic_backdrop() -> None:
    for role_key, role in lx.ROLES.items():
        for event_key, event in lx.EVENTS.items():
            found = realistic_backdrops_for(role_key, event_key)
            assert found, (role_key, event_key)
            wanted = set(role.tags) | set(event.tags)
            assert all(wanted & set(b.tags) for b in found), (role_key, event_key)


def test_realistic_backdrops_prefer_matching_both() -> None:
    found = realistic_backdrops_for("nurse", "treat_patients")
    assert found and all("health" in b.tags for b in found)
    found = realistic_backdrops_for("judge", "hold_a_briefing")  # general + media event
    assert {"justice", "media"} & {t for b in found for t in b.tags}


def test_affect_pairs_are_distinct_single_words() -> None:
    words = [w for pair in lx.AFFECT_PAIRS for w in pair]
    assert len(set(words)) == len(words)
    assert all(re.fullmatch(r"[a-z]+", w) for w in words)


def test_swap_material_shares_nothing_with_scenes() -> None:
    role_heads = {r.singular.split()[-1].lower() for r in lx.ROLES.values()}
    for singular, plural in lx.SWAP_SUBJECTS:
        assert singular.split()[-1].lower() not in role_heads, singular
        assert plural != singular
    event_phrases = {e.third for e in lx.EVENTS.values()}
    assert not event_phrases & {third for third, _ in lx.SWAP_ACTIONS}
    for third, base in lx.SWAP_ACTIONS:
        assert third.split()[1:] == base.split()[1:]
        assert third.split()[0] != base.split()[0]
    scene_places = {b.phrase for b in lx.REALISTIC_BACKDROPS}
    scene_places |= {phrase for _, phrase in lx.absurd_backdrops()}
    assert not scene_places & {phrase for _, phrase in lx.SWAP_PLACES}
    for prep, phrase in lx.SWAP_PLACES:
        assert prep in PREPOSITIONS and not article_problems(phrase), phrase
    # no swap phrase mentions a role or an event, word for word
    scene_phrases = [p for r in lx.ROLES.values() for p in (r.singular, r.plural)]
    scene_phrases += [p for e in lx.EVENTS.values() for p in (e.third, e.base)]
    for row in lx.SWAP_SUBJECTS + lx.SWAP_ACTIONS + lx.SWAP_PLACES:
        for material in row:
            words = words_untruncated(material)
            for phrase in scene_phrases:
                target = words_untruncated(phrase)
                spans = (words[i : i + len(target)] for i in range(len(words)))
                assert target not in spans, (material, phrase)
    # no swap list repeats an entry
    for table in (lx.SWAP_SUBJECTS, lx.SWAP_ACTIONS, lx.SWAP_PLACES):
        assert len(set(table)) == len(table)


def test_only_one_deliberate_hyphen_in_caption_material() -> None:
    material = [r.plural for r in lx.ROLES.values()] + [e.third for e in lx.EVENTS.values()]
    material += [b.phrase for b in lx.REALISTIC_BACKDROPS]
    material += [w for row in lx.SWAP_SUBJECTS + lx.SWAP_ACTIONS + lx.SWAP_PLACES for w in row]
    hyphenated = sorted(m for m in material if "-" in m or "/" in m)
    assert hyphenated == ["rehearse a one-act play", "rehearses a one-act play"]


def test_all_lexicon_articles_are_right() -> None:
    phrases = [b.phrase for b in lx.REALISTIC_BACKDROPS] + [e.third for e in lx.EVENTS.values()]
    phrases += [w for row in lx.SWAP_ACTIONS + lx.SWAP_PLACES for w in row]
    for phrase in phrases:
        assert not article_problems(phrase), phrase


def test_prompt_material() -> None:
    for role in lx.ROLES.values():
        assert any(tag in lx.DETAILS_BY_TAG for tag in role.tags), role.key
    for details in lx.DETAILS_BY_TAG.values():
        assert len(details) >= 2
    assert len(set(lx.LIGHTING)) == len(lx.LIGHTING)


def _max_words(phrases) -> int:
    return max(len(words_untruncated(p)) for p in phrases)


def test_longest_possible_headline_fits_the_body_budget() -> None:
    """Worst case of each slot added up (add-ons are at most five words)."""
    subject = 1 + _max_words([r.plural for r in lx.ROLES.values()] + list(lx.ROLES))
    event = _max_words([e.third for e in lx.EVENTS.values()])
    backdrop = 1 + _max_words(
        [p for _, p in lx.absurd_backdrops()] + [b.phrase for b in lx.REALISTIC_BACKDROPS]
    )
    assert subject + event + backdrop + 5 <= MAX_BODY_WORDS
    swap = (
        1
        + _max_words([s for row in lx.SWAP_SUBJECTS for s in row])
        + _max_words([a for a, _ in lx.SWAP_ACTIONS])
        + 1
        + _max_words([p for _, p in lx.SWAP_PLACES])
    )
    assert swap <= MAX_BODY_WORDS
