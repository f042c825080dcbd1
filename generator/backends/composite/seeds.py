"""Deterministic randomness: one generator per (seed, plan key, attempt, purpose)."""

from __future__ import annotations

import hashlib

import numpy as np


def rng_for(seed: int, plan_key: str, attempt: int, purpose: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}|{plan_key}|{attempt}|{purpose}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def phrase_digest(phrase: str) -> bytes:
    return hashlib.sha256(" ".join(phrase.lower().split()).encode()).digest()
