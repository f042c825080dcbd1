"""Near-duplicate images (64-bit pHash) and duplicate captions.

``PHashIndex`` answers "which stored hashes lie within Hamming distance r of this one" without
scanning every stored hash (the original script's quadratic cost).  It uses multi-index
hashing: the 64 bits are cut into 4 bands of 16 bits.  If two hashes differ in at most r bits,
by the pigeonhole principle at least one band differs in at most floor(r / 4) bits.  So a query
looks up, in each band's table, the band's exact value (r <= 3) or every value within
floor(r / 4) bits of it, and verifies the candidates by their full Hamming distance.

Memory: each band maps a 16-bit value to a compact ``array('I')`` of entry ids (4 bytes per id,
no Python object per stored hash); the hashes sit in one ``array('Q')`` (8 bytes each).  The
caller's keys are kept in a list.
"""

from __future__ import annotations

from array import array
from itertools import combinations

import numpy as np
from PIL import Image

__all__ = ["CaptionIndex", "PHashIndex", "hamming", "phash64"]

BANDS = 4
BAND_BITS = 16
_BAND_MASK = (1 << BAND_BITS) - 1
_MAX_HASH = (1 << 64) - 1


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
    """Finds every stored 64-bit hash within ``max_distance`` bits of a query."""

    def __init__(self, max_distance: int = 3) -> None:
        if not 0 <= max_distance <= 64:
            raise ValueError(f"max_distance must be in 0..64, got {max_distance}")
        self.max_distance = max_distance
        self._masks = _flip_masks(max_distance // BANDS)
        self._hashes = array("Q")
        self._keys: list[str] = []
        self._bands: tuple[dict[int, array], ...] = tuple({} for _ in range(BANDS))

    def __len__(self) -> int:
        return len(self._hashes)

    def add(self, h: int, key: str) -> None:
        """Store hash ``h`` under ``key`` (the same hash or key may be stored more than once)."""
        h = _check_hash(h)
        idx = len(self._hashes)
        self._hashes.append(h)
        self._keys.append(key)
        for band, table in enumerate(self._bands):
            value = (h >> (BAND_BITS * band)) & _BAND_MASK
            ids = table.get(value)
            if ids is None:
                table[value] = array("I", (idx,))
            else:
                ids.append(idx)

    def find(self, h: int) -> list[tuple[str, int]]:
        """``(key, distance)`` of every stored hash within ``max_distance`` of ``h``, sorted by
        ``(distance, key)``."""
        h = _check_hash(h)
        hashes = self._hashes
        r = self.max_distance
        seen: set[int] = set()
        found: list[tuple[int, int]] = []
        for band, table in enumerate(self._bands):
            value = (h >> (BAND_BITS * band)) & _BAND_MASK
            for mask in self._masks:
                ids = table.get(value ^ mask)
                if ids is None:
                    continue
                for idx in ids:
                    d = (hashes[idx] ^ h).bit_count()
                    # a match may share several bands: report it once
                    if d <= r and idx not in seen:
                        seen.add(idx)
                        found.append((idx, d))
        keys = self._keys
        result = [(keys[idx], d) for idx, d in found]
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
