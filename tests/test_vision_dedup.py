"""pHash and the multi-index Hamming search, against a brute-force scan."""

from __future__ import annotations

import io

import imagehash
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data

from generator.vision.dedup import CaptionIndex, PHashIndex, hamming, phash64

HASH = st.integers(min_value=0, max_value=(1 << 64) - 1)


def brute_force(stored: list[tuple[int, str]], q: int, r: int) -> list[tuple[str, int]]:
    hits = [(key, hamming(h, q)) for h, key in stored if hamming(h, q) <= r]
    return sorted(hits, key=lambda kd: (kd[1], kd[0]))


@st.composite
def index_case(draw):
    r = draw(st.integers(min_value=0, max_value=8))
    base = draw(st.lists(HASH, min_size=0, max_size=40))
    # near-duplicates of stored hashes: flip up to r + 1 bits (just inside and just outside r)
    near = []
    for h in base[:10]:
        bits = draw(st.sets(st.integers(0, 63), max_size=r + 1))
        for b in bits:
            h ^= 1 << b
        near.append(h)
    stored = [(h, f"k{i:03d}") for i, h in enumerate(base + near)]
    queries = draw(st.lists(HASH, max_size=5)) + [h for h, _ in stored[:15]]
    for h in list(queries[:10]):
        bits = draw(st.sets(st.integers(0, 63), max_size=r + 1))
        for b in bits:
            h ^= 1 << b
        queries.append(h)
    return r, stored, queries


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_case())
def test_find_equals_brute_force(case):
    r, stored, queries = case
    one_by_one = PHashIndex(max_distance=r)
    for h, key in stored:
        one_by_one.add(h, key)
    bulk = PHashIndex(max_distance=r)
    half = len(stored) // 2
    bulk.add_many([h for h, _ in stored[:half]], [k for _, k in stored[:half]])
    bulk.add_many(
        np.array([h for h, _ in stored[half:]], dtype=np.uint64), [k for _, k in stored[half:]]
    )
    assert len(one_by_one) == len(bulk) == len(stored)
    for q in queries:
        expected = brute_force(stored, q, r)
        assert one_by_one.find(q) == expected
        assert bulk.find(q) == expected
        assert one_by_one.nearest(q) == (expected[0] if expected else None)


def test_find_reports_each_match_once_and_duplicates_separately():
    index = PHashIndex(max_distance=3)
    h = 0x0123_4567_89AB_CDEF
    index.add(h, "a")
    index.add(h, "b")  # the same hash under two keys
    index.add(h ^ 0b101, "c")
    index.add(h ^ 0xF, "far")  # 4 bits away
    assert index.find(h) == [("a", 0), ("b", 0), ("c", 2)]
    assert index.find(h ^ 0xF) == [("far", 0), ("c", 2)]
    assert PHashIndex().find(h) == []


def test_bad_hashes_are_refused():
    index = PHashIndex()
    with pytest.raises(ValueError):
        index.add(1 << 64, "x")
    with pytest.raises(ValueError):
        index.add(-1, "x")
    with pytest.raises(TypeError):
        index.add(1.0, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        index.add_many(np.array([-1]), ["x"])
    with pytest.raises(ValueError):
        index.add_many([1, 2], ["x"])
    with pytest.raises(ValueError):
        PHashIndex(max_distance=-1)
    assert len(index) == 0


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def test_phash_survives_jpeg_and_separates_images():
    photos = {
        "astronaut": Image.fromarray(data.astronaut()),
        "coffee": Image.fromarray(data.coffee()),
        "chelsea": Image.fromarray(data.chelsea()),
        "camera": Image.fromarray(data.camera()).convert("RGB"),
    }
    hashes = {}
    for name, img in photos.items():
        small = img.resize((400, 256), Image.Resampling.LANCZOS)
        h = phash64(small)
        assert 0 <= h < 1 << 64
        assert hamming(phash64(_jpeg(small, 85)), h) <= 3
        assert hamming(phash64(_jpeg(small, 60)), h) <= 3
        hashes[name] = h
    names = list(hashes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert hamming(hashes[a], hashes[b]) > 12, (a, b)
    # the bit order is the hex string's
    img = photos["coffee"]
    assert phash64(img) == int(str(imagehash.phash(img, hash_size=8)), 16)


def test_caption_index_is_exact():
    index = CaptionIndex()
    assert index.find("PARIS — A nurse waves.") is None
    index.add("PARIS — A nurse waves.", "000001")
    index.add("PARIS — A nurse waves.", "000002")  # the first key wins
    assert index.find("PARIS — A nurse waves.") == "000001"
    assert index.find("PARIS — A nurse waves") is None
    assert index.find("paris — a nurse waves.") is None
    assert "PARIS — A nurse waves." in index
    assert len(index) == 1
