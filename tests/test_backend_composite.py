"""The offline composite backend: determinism, budget, real faces (MTCNN) and readable signs."""

from __future__ import annotations

import asyncio
import io
import math

import numpy as np
import pytest
from PIL import Image

from generator.backends import make_backend
from generator.backends.base import BudgetExhausted, CallBudget, Generated, ImageRequest
from generator.backends.composite import (
    SIGN_WORDS,
    CompositeBackend,
    encode_png,
    render_composite,
)

BACKDROPS = (
    "a lava lake under two suns",
    "a neon city floating upside down",
    "the ocean floor",
    "a giant chocolate cake",
    "a snowy glacier",
    "the surface of the moon",
)


def _req(
    k: int = 0,
    attempt: int = 0,
    people: int = 1,
    backdrop: str = BACKDROPS[0],
    kind: str = "absurd",
    seed: int = 123,
) -> ImageRequest:
    return ImageRequest(
        prompt="a news photo",
        plan_key=f"origin/{k}",
        seed=seed,
        attempt=attempt,
        num_people=people,
        backdrop=backdrop,
        backdrop_kind=kind,
    )


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"), dtype=np.int16)


# -- determinism and variety ---------------------------------------------------------------------


def test_same_request_gives_identical_bytes_and_attempts_differ():
    backend = CompositeBackend(CallBudget(None), fault_rate=0.15)
    a = backend.generate_sync(_req(3))
    assert a == backend.generate_sync(_req(3))
    assert a == CompositeBackend(CallBudget(None), fault_rate=0.15).generate_sync(_req(3))
    b = backend.generate_sync(_req(3, attempt=1))
    assert np.abs(_pixels(a) - _pixels(b)).mean() > 10


def test_output_is_a_1024_png():
    data = CompositeBackend(CallBudget(None)).generate_sync(_req(people=2))
    px = _pixels(data)
    assert px.shape == (1024, 1024, 3)


def test_backdrops_differ_across_plan_keys():
    pics = [
        render_composite(1, f"text_swap/{k}", 0, 1, "a lava lake", fault_rate=0.0).png
        for k in range(5)
    ]
    arrays = [_pixels(p) for p in pics]
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            assert np.abs(arrays[i] - arrays[j]).mean() > 10


def test_backdrop_text_steers_the_palette():
    """Same request but another backdrop phrase: another theme, another palette."""
    lava = render_composite(9, "origin/1", 0, 0, "a lava lake", fault_rate=0.0)
    ice = render_composite(9, "origin/1", 0, 0, "a frozen glacier", fault_rate=0.0)
    assert (lava.theme, ice.theme) == ("fire", "ice")
    lava_px, ice_px = _pixels(lava.png), _pixels(ice.png)
    # fire is red-dominant, ice is blue-dominant and brighter
    assert lava_px[..., 0].mean() - lava_px[..., 2].mean() > 20
    assert ice_px[..., 2].mean() > ice_px[..., 0].mean()
    assert ice_px.mean() > lava_px.mean()


def test_png_levels_give_the_same_pixels():
    pic = render_composite(4, "origin/4", 0, 2, "the moon", fault_rate=0.0)
    small = render_composite(4, "origin/4", 0, 2, "the moon", fault_rate=0.0, png_level=6)
    assert len(small.png) < len(pic.png)
    assert np.array_equal(_pixels(pic.png), _pixels(small.png))
    im = Image.new("RGB", (7, 5), (10, 200, 30))
    assert np.array_equal(_pixels(encode_png(im, 1)), np.asarray(im, dtype=np.int16))


def test_fault_rate_zero_and_one():
    clean = [render_composite(2, f"o/{k}", 0, 2, "the moon", fault_rate=0.0) for k in range(20)]
    assert all(p.fault is None and len(p.faces) == 2 for p in clean)
    bad = [render_composite(2, f"o/{k}", 0, 2, "the moon", fault_rate=1.0) for k in range(20)]
    kinds = {p.fault for p in bad}
    assert kinds == {"no_face", "crowd"}
    for p in bad:
        assert len(p.faces) == 0 if p.fault == "no_face" else 4 <= len(p.faces) <= 5


def test_pasted_faces_are_sized_and_apart():
    for k in range(40):
        people = 1 + k % 3
        pic = render_composite(5, f"o/{k}", 0, people, BACKDROPS[k % 6], fault_rate=0.0)
        assert len(pic.faces) == people
        for x1, y1, x2, y2 in pic.faces:
            assert 125 <= x2 - x1 <= 305
            assert 0 <= x1 < x2 <= 1024
            assert 0 <= y1 < y2 <= 1024
        for i, a in enumerate(pic.faces):
            for b in pic.faces[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


# -- budget and async ---------------------------------------------------------------------------


def test_budget_is_taken_per_call():
    budget = CallBudget(3)
    backend = make_backend("composite", budget=budget, fault_rate=0.0)

    async def go():
        out = []
        for k in range(4):
            try:
                out.append(await backend.generate(_req(k)))
            except BudgetExhausted as exc:
                out.append(exc)
        await backend.aclose()
        return out

    out = asyncio.run(go())
    assert [isinstance(o, Generated) for o in out] == [True, True, True, False]
    assert {o.cost_usd for o in out[:3]} == {0.0} and out[0].model == "composite"
    assert "MAX_IMAGE_CALLS" in str(out[-1])
    assert budget.used == 3 and backend.calls == 3


def test_concurrent_generations_run_off_the_loop():
    backend = CompositeBackend(CallBudget(None), fault_rate=0.0)

    async def go():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        t = asyncio.create_task(ticker())
        out = await asyncio.gather(*(backend.generate(_req(k)) for k in range(4)))
        t.cancel()
        return out, ticks

    out, ticks = asyncio.run(go())
    assert len({o.data for o in out}) == 4
    assert ticks > 0  # the event loop kept running while images were drawn


def test_make_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="composite"):
        make_backend("dall-e", budget=CallBudget(1))


def test_rates_are_validated():
    with pytest.raises(ValueError, match="fault_rate"):
        CompositeBackend(CallBudget(None), fault_rate=1.5)


# -- real faces through MTCNN -------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtcnn():
    import facenet_pytorch as facenet
    import torch

    torch.set_num_threads(1)
    return facenet.MTCNN(keep_all=True, device="cpu", min_face_size=20)


def _detect(mtcnn, data: bytes) -> list[tuple[tuple[float, ...], float, float]]:
    """Faces as (box in 1024 px, prob, eye tilt in degrees), detected at 512 px like the gate.

    ``min_face_size=20`` at 512 px finds faces from 40 px (1024 units) up: stricter than the
    pipeline's detector, so stray small detections are caught too.
    """
    with Image.open(io.BytesIO(data)) as im:
        small = im.convert("RGB").resize((512, 512), Image.Resampling.BILINEAR)
    boxes, probs, points = mtcnn.detect(small, landmarks=True)
    if boxes is None:
        return []
    out = []
    for box, prob, pts in zip(
        boxes.astype(float), probs.astype(float), points.astype(float), strict=True
    ):
        (lx, ly), (rx, ry) = pts[0], pts[1]
        tilt = abs(math.degrees(math.atan2(ry - ly, rx - lx)))
        out.append((tuple(v * 2 for v in box), float(prob), tilt))
    return out


def test_faces_pass_the_gate_through_real_mtcnn(mtcnn):
    """fault_rate=0: 1-3 people, each found with prob >= 0.8, side >= 110 px, eyes level."""
    passed = 0
    total = 30
    for k in range(total):
        people = 1 + k % 3
        kind = "realistic" if k % 5 == 4 else "absurd"
        data = render_composite(
            31, f"origin/{k}", 0, people, BACKDROPS[k % 6], kind, fault_rate=0.0
        ).png
        faces = _detect(mtcnn, data)
        ok = len(faces) == people and all(
            prob >= 0.8 and min(b[2] - b[0], b[3] - b[1]) >= 110 and tilt <= 20
            for b, prob, tilt in faces
        )
        passed += ok
    assert passed >= math.ceil(0.95 * total)


def test_fault_attempts_have_no_face_or_too_many(mtcnn):
    seen = set()
    for k in range(10):
        pic = render_composite(32, f"origin/{k}", 0, 2, BACKDROPS[k % 6], fault_rate=1.0)
        faces = [f for f in _detect(mtcnn, pic.png) if f[1] >= 0.5]
        seen.add(pic.fault)
        if pic.fault == "no_face":
            assert faces == []
        else:
            assert len(faces) >= 4
    assert seen == {"no_face", "crowd"}


# -- readable signs -----------------------------------------------------------------------------


def test_signs_are_readable_by_tesseract():
    import pytesseract

    total, read = 6, 0
    for k in range(total):
        pic = render_composite(
            33, f"origin/{k}", 0, 1 + k % 3, BACKDROPS[k % 6], fault_rate=0.0, signage_rate=1.0
        )
        assert pic.sign_words and set(pic.sign_words) <= set(SIGN_WORDS)
        x1, y1, x2, y2 = pic.sign_box
        for fx1, fy1, fx2, fy2 in pic.faces:  # the sign keeps off the faces
            assert x2 <= fx1 or fx2 <= x1 or y2 <= fy1 or fy2 <= y1
        with Image.open(io.BytesIO(pic.png)) as im:
            data = pytesseract.image_to_data(im.convert("RGB"), output_type=pytesseract.Output.DICT)
        words = {
            w.strip().upper()
            for w, conf in zip(data["text"], data["conf"], strict=True)
            if w.strip() and float(conf) >= 60
        }
        read += bool(words & set(pic.sign_words))
    assert read == total


def test_signage_rate_zero_paints_no_sign():
    pic = render_composite(33, "origin/0", 0, 1, "the moon", fault_rate=0.0)
    assert pic.sign_words == () and pic.sign_box is None
