"""Our torch-only MTCNN cascade against facenet-pytorch's own ``detect_face``: the same boxes,
probabilities and landmarks, bit for bit, on real photos, scenes built from them (several
faces, a rotated one, faces cut by the border) and faceless backdrops."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from generator.vision.mtcnn import FACTOR, THRESHOLDS, Cascade, weights_dir
from tests.test_vision_faces import _backdrop, _load, make_scene


@pytest.fixture(scope="module")
def nets():
    from facenet_pytorch import MTCNN

    torch.set_num_threads(1)
    return MTCNN(keep_all=True, device="cpu").eval(), Cascade("cpu")


def _facenet(mtcnn, img: Image.Image, min_size: float) -> tuple[np.ndarray, np.ndarray]:
    from facenet_pytorch.models.utils.detect_face import detect_face

    with torch.inference_mode():
        boxes, points = detect_face(
            img, min_size, mtcnn.pnet, mtcnn.rnet, mtcnn.onet, THRESHOLDS, FACTOR, "cpu"
        )
    b = np.asarray(boxes[0], dtype=object).astype(np.float32).reshape(-1, 5)
    p = np.asarray(points[0], dtype=object).astype(np.float32).reshape(-1, 5, 2)
    return b, p


def _images() -> dict[str, Image.Image]:
    scene = [
        ("astronaut", 150, (100, 200), 0),
        ("grace_hopper", 120, (600, 300), 0),
        ("astronaut", 180, (300, 600), 30),
    ]
    border = [("grace_hopper", 200, (-60, 700), 0), ("astronaut", 160, (880, -40), 0)]
    return {
        "astronaut": _load("astronaut"),
        "grace_hopper": _load("grace_hopper"),
        "backdrop": _backdrop(512, 3),
        "scene": make_scene(scene, seed=1)[0].resize((512, 512)),
        "scene_full": make_scene(scene, seed=2)[0],
        "border": make_scene(border, seed=5)[0].resize((512, 512)),
        "wide": make_scene(scene, seed=4)[0].resize((512, 288)),
    }


IMAGES = _images()


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("min_size", [12, 20, 41.25, 66])
def test_cascade_equals_facenet_detect_face(nets, name, min_size):
    mtcnn, cascade = nets
    img = IMAGES[name]
    want_boxes, want_points = _facenet(mtcnn, img, min_size)
    boxes, points = cascade.detect(np.asarray(img), min_size)
    assert boxes.dtype == np.float32 and boxes.shape == want_boxes.shape
    np.testing.assert_array_equal(boxes, want_boxes)
    np.testing.assert_array_equal(points, want_points)


def test_the_photos_have_faces_and_the_backdrop_none(nets):
    """The equality above is not the trivial one: faces are found where there are faces."""
    _, cascade = nets
    counts = {n: len(cascade.detect(np.asarray(IMAGES[n]), 20)[0]) for n in IMAGES}
    assert counts["astronaut"] == 1 and counts["grace_hopper"] == 1
    assert counts["scene"] == 3 and counts["backdrop"] == 0
    assert counts["border"] >= 1


def test_image_smaller_than_the_smallest_face_gives_nothing(nets):
    _, cascade = nets
    boxes, points = cascade.detect(np.zeros((10, 30, 3), np.uint8), 12)
    assert boxes.shape == (0, 5) and points.shape == (0, 5, 2)


def test_weights_are_facenet_pytorchs_files():
    folder = weights_dir()
    assert sorted(p.name for p in folder.glob("?net.pt")) == ["onet.pt", "pnet.pt", "rnet.pt"]


def test_detection_does_not_import_torchvision():
    """The point of the cascade: detecting a face costs the import of torch, not torchvision."""
    code = (
        "import sys; from PIL import Image; from generator.vision.faces import FaceDetector;"
        "FaceDetector().detect(Image.new('RGB', (64, 64)));"
        "print('torchvision' in sys.modules, 'facenet_pytorch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]
