"""Near-duplicate images (64-bit pHash) and duplicate captions.

``PHashIndex`` answers "which stored hashes lie within Hamming distance r of this one" without
scanning every stored hash (the original script's quadratic cost).  It uses multi-index
hashing: the 64 bits are cut into 4 bands of 16 bits.  If two hashes differ in at most r bits,
by the pigeonhole principle at least one band differs in at most floor(r / 4) bits.  So a query
looks up, in each band's table, the band's exact value (r <= 3) or every value within
floor(r / 4) bits of it, and verifies the candidates by their full Hamming distance.

Memory: each band maps a 16-bit value to a compact ``array('I')`` of entry ids (4 bytes per id,
no Python object per stored hash); the hashes sit in one numpy ``uint64`` array (8 bytes each,
grown by doubling), against which the candidates are verified in one vectorised step.  The
caller's keys are kept in a list.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from itertools import combinations

import numpy as np
from PIL import Image

__all__ = ["CaptionIndex", "PHashIndex", "hamming", "phash64"]

BANDS = 4
BAND_BITS = 16
_BAND_MASK = (1 << BAND_BITS) - 1
_MAX_HASH = (1 << 64) - 1
_SMALL = 24  # up to this many candidates are verified without numpy
_MAX_ENTRIES = (1 << 32) - 1  # ids are stored as uint32
assert array("I").itemsize == 4, "array('I') must hold 32-bit ids"


def phash64(img: Image.Image) -> int:
    """``imagehash.phash(img, hash_size=8)`` as a 64-bit int (first bit = most significant,
    the same bit order as the hash's hex string)."""
    import imagehash

    bits = np.asarray(imagehash.phash(img, hash_size=8).hash, dtype=bool).reshape(-1)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def _flip_masks(max_bits: int) -> tuple[int, ...]:
    """All 16-bit masks with at most ``max_bits`` bits set (0 first)."""
    masks = [0]
    for k in range(1, min(max_bits, BAND_BITS) + 1):
        for bits in combinations(range(BAND_BITS), k):
            m = 0
            for b in bits:
                m |= 1 << b
            masks.append(m)
    return tuple(masks)


class PHashIndex:
    """Finds every stored 64-bit hash within ``max_distance`` bits of a query.

    Not safe for ``add`` and ``find`` from different threads at the same time: guard it with a
    lock (the pipeline has one writer).
    """

    def __init__(self, max_distance: int = 3) -> None:
        if not 0 <= max_distance <= 64:
            raise ValueError(f"max_distance must be in 0..64, got {max_distance}")
        self.max_distance = max_distance
        self._masks = _flip_masks(max_distance // BANDS)
        self._hashes = np.zeros(1024, dtype=np.uint64)  # grown by doubling
        self._n = 0
        self._keys: list[str] = []
        self._bands: tuple[dict[int, array], ...] = tuple({} for _ in range(BANDS))

    def __len__(self) -> int:
        return self._n

    def add(self, h: int, key: str) -> None:
        """Store hash ``h`` under ``key`` (the same hash or key may be stored more than once)."""
        h = _check_hash(h)
        idx = self._n
        if idx >= _MAX_ENTRIES:
            raise ValueError("PHashIndex holds at most 2**32 - 1 entries")
        if idx == len(self._hashes):
            grown = np.zeros(2 * len(self._hashes), dtype=np.uint64)
            grown[:idx] = self._hashes
            self._hashes = grown
        self._hashes[idx] = h
        self._keys.append(key)
        self._n = idx + 1
        for band, table in enumerate(self._bands):
            value = (h >> (BAND_BITS * band)) & _BAND_MASK
            ids = table.get(value)
            if ids is None:
                table[value] = array("I", (idx,))
            else:
                ids.append(idx)

    def add_many(self, hashes: Sequence[int] | np.ndarray, keys: Sequence[str]) -> None:
        """Store many hashes at once (e.g. when resuming a run); the same result as calling
        :meth:`add` for each pair in order, built with vectorised numpy steps."""
        arr = _check_hashes(hashes)
        n = len(arr)
        if len(keys) != n:
            raise ValueError(f"got {n} hashes but {len(keys)} keys")
        if n == 0:
            return
        start = self._n
        if start + n > _MAX_ENTRIES:
            raise ValueError("PHashIndex holds at most 2**32 - 1 entries")
        if start + n > len(self._hashes):
            grown = np.zeros(max(2 * len(self._hashes), start + n), dtype=np.uint64)
            grown[:start] = self._hashes[:start]
            self._hashes = grown
        self._hashes[start : start + n] = arr
        self._keys.extend(keys)
        self._n = start + n
        ids = np.arange(start, start + n, dtype=np.uint32)
        for band, table in enumerate(self._bands):
            values = ((arr >> np.uint64(BAND_BITS * band)) & np.uint64(_BAND_MASK)).astype(np.int64)
            order = np.argsort(values, kind="stable")  # ids stay ascending in a bucket
            sorted_ids = ids[order]
            uniq, first = np.unique(values[order], return_index=True)
            ends = np.append(first[1:], n)
            for value, a, b in zip(uniq.tolist(), first.tolist(), ends.tolist(), strict=True):
                bucket = table.get(value)
                if bucket is None:
                    table[value] = bucket = array("I")
                bucket.frombytes(sorted_ids[a:b].tobytes())

    def memory_bytes(self) -> int:
        """Approximate memory held by the index structures (hash array, band tables, key
        list; not the key strings themselves, which belong to the caller)."""
        total = self._hashes.nbytes + sys.getsizeof(self._keys)
        for table in self._bands:
            total += sys.getsizeof(table)
            total += sum(sys.getsizeof(ids) for ids in table.values())
        return total

    def find(self, h: int) -> list[tuple[str, int]]:
        """``(key, distance)`` of every stored hash within ``max_distance`` of ``h``, sorted by
        ``(distance, key)``."""
        h = _check_hash(h)
        candidates = array("I")
        for band, table in enumerate(self._bands):
            value = (h >> (BAND_BITS * band)) & _BAND_MASK
            for mask in self._masks:
                ids = table.get(value ^ mask)
                if ids is not None:
                    candidates.extend(ids)
        r = self.max_distance
        if len(candidates) <= _SMALL:
            # a few candidates: plain ints beat numpy's per-call overhead
            item = self._hashes.item
            matches = {}
            for idx in candidates:
                d = (item(idx) ^ h).bit_count()
                if d <= r:
                    matches[idx] = d  # a match may share several bands: reported once
            if not matches:
                return []
        else:
            found = np.frombuffer(candidates, dtype=np.uint32)
            dist = np.bitwise_count(self._hashes[found] ^ np.uint64(h))
            hit = np.flatnonzero(dist <= r)
            if not len(hit):
                return []
            matches = dict(zip(found[hit].tolist(), dist[hit].tolist(), strict=True))
        keys = self._keys
        result = [(keys[idx], d) for idx, d in matches.items()]
        result.sort(key=lambda kd: (kd[1], kd[0]))
        return result

    def nearest(self, h: int) -> tuple[str, int] | None:
        """The closest stored hash within ``max_distance`` (ties: smallest key), or None."""
        hits = self.find(h)
        return hits[0] if hits else None


def _check_hash(h: int) -> int:
    if isinstance(h, bool) or not isinstance(h, int | np.integer):
        raise TypeError(f"hash must be an int, got {type(h).__name__}")
    h = int(h)
    if not 0 <= h <= _MAX_HASH:
        raise ValueError(f"hash must be a 64-bit unsigned int, got {h}")
    return h


def _check_hashes(hashes: Sequence[int] | np.ndarray) -> np.ndarray:
    if not isinstance(hashes, np.ndarray):
        return np.fromiter((_check_hash(h) for h in hashes), dtype=np.uint64, count=len(hashes))
    raw = hashes
    if raw.dtype == object:
        return np.fromiter((_check_hash(h) for h in raw.reshape(-1)), dtype=np.uint64)
    if raw.dtype.kind not in "ui":
        raise TypeError(f"hashes must be ints, got dtype {raw.dtype}")
    if raw.dtype.kind == "i" and (raw < 0).any():
        raise ValueError("hashes must be 64-bit unsigned ints, got a negative value")
    return raw.astype(np.uint64).reshape(-1)


class CaptionIndex:
    """Exact-string caption de-duplication: the first key stored for a text wins."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, text: object) -> bool:
        return text in self._keys

    def add(self, text: str, key: str) -> None:
        self._keys.setdefault(text, key)

    def find(self, text: str) -> str | None:
        return self._keys.get(text)
