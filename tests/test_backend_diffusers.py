"""The diffusers backend on a tiny, randomly initialised FluxPipeline saved to a folder (no download)."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from PIL import Image

from generator.backends import make_backend
from generator.backends.base import BudgetExhausted, CallBudget, Generated, ImageRequest
from generator.backends.diffusers_backend import DiffusersBackend, card_license, image_seed
from generator.errors import UsageError
from tests.conftest import read_jsonl, run_cli
from tests.tiny_diffusers import build_tiny_flux

PROMPTS = [
    "a nurse standing on the moon news photo",
    "two referees inside a volcano",
    "a bishop at a desert market wide shot",
    "three politicians in an office under daylight",
    "a person with clear faces in a crowd",
]


@pytest.fixture(scope="session")
def tiny_flux(tmp_path_factory):
    return build_tiny_flux(tmp_path_factory.mktemp("tiny-flux") / "tiny-flux")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # an empty cache


def _reqs(seed: int = 7, attempt: int = 0) -> list[ImageRequest]:
    return [
        ImageRequest(
            prompt=p,
            plan_key=f"origin/{k}",
            seed=seed,
            attempt=attempt,
            num_people=1,
            backdrop="a volcano",
            backdrop_kind="absurd",
        )
        for k, p in enumerate(PROMPTS)
    ]


def _backend(folder, batch_size: int, budget: int | None = None, **kw) -> DiffusersBackend:
    return make_backend(
        "diffusers",
        budget=CallBudget(budget),
        model=str(folder),
        device="cpu",
        steps=2,
        size=(64, 48),
        batch_size=batch_size,
        **kw,
    )


async def _all(backend: DiffusersBackend, reqs: list[ImageRequest]) -> list[Generated]:
    try:
        return list(await asyncio.gather(*(backend.generate(r) for r in reqs)))
    finally:
        await backend.aclose()


async def _one_by_one(backend: DiffusersBackend, reqs: list[ImageRequest]) -> list[Generated]:
    try:
        return [await backend.generate(r) for r in reqs]
    finally:
        await backend.aclose()


def test_images_have_the_asked_size_and_record_model_and_licence(tiny_flux):
    backend = _backend(tiny_flux, batch_size=2)
    out = asyncio.run(_all(backend, _reqs()[:2]))
    for gen in out:
        assert isinstance(gen, Generated) and gen.cost_usd == 0.0 and gen.cost_basis == "free"
        with Image.open(io.BytesIO(gen.data)) as im:
            assert im.format == "PNG" and im.size == (64, 48) and im.mode == "RGB"
        assert gen.model == "tiny-flux"
    info = backend.info()
    assert info["pipeline_class"] == "FluxPipeline"
    assert info["model_license"] == "apache-2.0" == card_license(tiny_flux)
    assert info["dtype"] == "float32" and info["device"] == "cpu"
    assert info["images"] == 2 and info["device_seconds"] > 0


def test_same_seed_same_bytes_whatever_the_batch_size(tiny_flux):
    reqs = _reqs()
    alone = asyncio.run(_one_by_one(_backend(tiny_flux, batch_size=1), reqs))
    wide_backend = _backend(tiny_flux, batch_size=4)
    wide = asyncio.run(_all(wide_backend, reqs))
    assert wide_backend.calls == 2  # 4 + 1: the requests really were batched
    assert [g.data for g in wide] == [g.data for g in alone]
    # ... and a batch of 3 in another order (other neighbours in the call) changes nothing.
    order = [4, 2, 0]
    mixed = asyncio.run(_all(_backend(tiny_flux, batch_size=3), [reqs[i] for i in order]))
    assert [g.data for g in mixed] == [alone[i].data for i in order]
    # The images do differ with the plan key, the attempt and the run seed.
    assert len({g.data for g in alone}) == len(alone)
    again = asyncio.run(
        _all(_backend(tiny_flux, batch_size=4), _reqs(attempt=1)[:1] + _reqs(seed=8)[:1])
    )
    assert again[0].data != alone[0].data and again[1].data != alone[0].data


def test_image_seed_is_a_pure_function_of_seed_key_and_attempt():
    assert image_seed(1, "origin/0", 0) == image_seed(1, "origin/0", 0)
    seeds = {
        image_seed(s, f"{b}/{k}", a)
        for s in (1, 2)
        for b in ("origin", "text_swap")
        for k in range(20)
        for a in (0, 1)
    }
    assert len(seeds) == 2 * 2 * 20 * 2 and all(0 <= s < 2**63 for s in seeds)


def test_budget_is_taken_per_image_before_the_call(tiny_flux):
    backend = _backend(tiny_flux, batch_size=4, budget=3)

    async def go() -> tuple[list[object], int]:
        try:
            res = await asyncio.gather(
                *(backend.generate(r) for r in _reqs()), return_exceptions=True
            )
            return list(res), backend.images
        finally:
            await backend.aclose()

    res, images = asyncio.run(go())
    assert sum(isinstance(r, Generated) for r in res) == 3 == images
    assert sum(isinstance(r, BudgetExhausted) for r in res) == 2
    assert backend.budget.used == 3 and backend.budget.basis["free"] == 3
    assert backend.budget.spent_usd == 0.0 and backend.budget.held_usd == 0.0


def test_missing_model_offline_is_one_clear_line():
    with pytest.raises(UsageError) as err:
        DiffusersBackend(
            budget=CallBudget(None), model="black-forest-labs/FLUX.1-schnell", device="cpu"
        )
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("--diffusers-model black-forest-labs/FLUX.1-schnell")
    assert "HF_HUB_OFFLINE=1" in msg


def test_a_folder_that_is_not_a_pipeline_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"^--diffusers-model .*empty"):
        DiffusersBackend(budget=CallBudget(None), model=str(tmp_path / "empty"), device="cpu")
    with pytest.raises(UsageError, match="not a folder"):
        DiffusersBackend(budget=CallBudget(None), model=str(tmp_path / "nowhere"), device="cpu")


def test_generate_with_the_tiny_pipeline_rejects_noise_cleanly(tiny_flux, tmp_path):
    """The real command, end to end: random weights draw noise, the face gate rejects every
    attempt, the store stays consistent and the run records the model, licence and device time."""
    out = tmp_path / "DGM4"
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    proc = run_cli(
        "generate",
        "--backend",
        "diffusers",
        "--diffusers-model",
        str(tiny_flux),
        "--diffusers-size",
        "64x64",
        "--diffusers-steps",
        "2",
        "--batch-size",
        "3",
        "--device",
        "cpu",
        "--origin",
        "2",
        "--text-attribute",
        "1",
        "--text-swap",
        "1",
        "--max-image-calls",
        "8",
        "--out",
        str(out),
        env=env,
    )
    assert proc.returncode == 3, proc.stderr  # stopped short: the budget is spent on noise
    assert "device-seconds on cpu" in proc.stderr
    assert read_jsonl(out / "metadata.jsonl") == []
    rejected = read_jsonl(out / "rejected.jsonl")
    final = [r for r in rejected if "calls" in r]
    assert final and all(r["reason"] == "faces" and r["backend"] == "diffusers" for r in final)
    run = read_jsonl(out / "runs.jsonl")[-1]
    assert run["calls"] == 8 and run["images"] == 8
    assert run["model"] == "tiny-flux" and run["model_license"] == "apache-2.0"
    assert run["device"] == "cpu" and run["size"] == "64x64" and run["device_seconds"] > 0
    assert run["pipeline_calls"] < 8  # requests were gathered into batches
    # Consistent: no image without a record, nothing left in the spool, an empty snapshot.
    assert [p for p in out.rglob("*.jpg")] == [] and [
        p for p in (out / "spool").rglob("*") if p.is_file()
    ] == []
    assert json.loads((out / "metadata.json").read_text()) == []
    # A second run of the same command resumes: rejected items are never generated again.
    again = run_cli(
        "generate",
        "--backend",
        "diffusers",
        "--diffusers-model",
        str(tiny_flux),
        "--diffusers-size",
        "64x64",
        "--diffusers-steps",
        "2",
        "--device",
        "cpu",
        "--origin",
        "2",
        "--text-attribute",
        "1",
        "--text-swap",
        "1",
        "--max-image-calls",
        "2",
        "--out",
        str(out),
        env=env,
    )
    assert again.returncode == 3
    keys = [
        (r["plan_key"], r.get("attempt"))
        for r in read_jsonl(out / "rejected.jsonl")
        if "calls" not in r
    ]
    assert len(keys) == len(set(keys)) == 10


def test_generate_with_a_missing_model_offline_exits_2(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    proc = run_cli(
        "generate",
        "--backend",
        "diffusers",
        "--diffusers-model",
        "nobody/no-such-model",
        "--origin",
        "1",
        "--text-attribute",
        "0",
        "--text-swap",
        "0",
        "--out",
        str(tmp_path / "DGM4"),
        env=env,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--diffusers-model nobody/no-such-model" in lines[0]
    assert "HF_HUB_OFFLINE=1" in lines[0]
    assert not (tmp_path / "DGM4" / "metadata.jsonl").exists()


def test_a_device_that_is_not_there_is_one_clear_line(tiny_flux):
    import torch

    auto = DiffusersBackend(budget=CallBudget(None), model=str(tiny_flux), device="auto")
    assert auto.device == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UsageError, match=r"^--device cuda:99: cannot run the model there"):
        DiffusersBackend(budget=CallBudget(None), model=str(tiny_flux), device="cuda:99")


def test_sdxl_family_pipeline_with_guidance_is_byte_identical_across_batch_sizes(tmp_path):
    """SDXL: a UNet, two text encoders, classifier-free guidance (the UNet sees 2 x batch rows)
    and SDXL's added text/time conditioning; still the same bytes alone or in a batch."""
    from tests.tiny_diffusers import build_tiny_sdxl

    folder = build_tiny_sdxl(tmp_path / "tiny-sdxl")
    reqs = _reqs()[:3]

    def make(batch: int) -> DiffusersBackend:
        return make_backend(
            "diffusers",
            budget=CallBudget(None),
            model=str(folder),
            device="cpu",
            steps=2,
            guidance=5.0,
            size=(64, 64),
            batch_size=batch,
        )

    alone = asyncio.run(_one_by_one(make(1), reqs))
    wide_backend = make(3)
    wide = asyncio.run(_all(wide_backend, reqs))
    assert wide_backend.calls == 1 and wide_backend.pipeline_class == "StableDiffusionXLPipeline"
    assert [g.data for g in wide] == [g.data for g in alone]
    assert len({g.data for g in alone}) == 3
    with Image.open(io.BytesIO(alone[0].data)) as im:
        assert im.size == (64, 64)
    assert wide_backend.info()["model_license"] == "openrail++"
