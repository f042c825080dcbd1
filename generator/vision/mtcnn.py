"""MTCNN (Zhang et al. 2016) in plain torch: facenet-pytorch's three trained networks and the
cascade that runs them, without torchvision.

Why not facenet-pytorch's own ``detect_face``: its module imports torchvision for one NMS call,
and importing torchvision costs as much again as importing torch (about 1.5 s more on two
cores), which a run pays before its first sample can pass the face gate. The networks here have
facenet-pytorch's layer names and load its weight files (``facenet_pytorch/data/*.pt``) without
importing the package; the cascade follows the published algorithm with facenet-pytorch's
conventions (pyramid, area resampling, box regression, squaring, clipping, the "Min" overlap of
the last stage). ``tests/test_vision_mtcnn.py`` checks that boxes, probabilities and landmarks
equal facenet-pytorch's ``detect_face`` on real photos and on faceless scenes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from generator.vision.faces import FACTOR, THRESHOLDS

__all__ = ["THRESHOLDS", "FACTOR", "Cascade", "weights_dir"]

_CHUNK = 512  # R-Net and O-Net see at most this many crops at once (facenet-pytorch's batch)


def weights_dir() -> Path:
    """facenet-pytorch's ``data`` folder, found without importing the package."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "facenet-pytorch is not installed (scripts/setup.sh installs it with --no-deps)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _conv_stack(
    x: torch.Tensor, net: nn.Module, pools: Sequence[tuple[int, int] | None]
) -> torch.Tensor:
    """conv_i -> prelu_i (-> max pool) for i = 1..len(pools)."""
    for i, pool in enumerate(pools, start=1):
        x = getattr(net, f"prelu{i}")(getattr(net, f"conv{i}")(x))
        if pool is not None:
            x = F.max_pool2d(x, pool[0], pool[1], ceil_mode=True)
    return x


class PNet(nn.Module):
    """Proposal network: fully convolutional, one 12x12 window per output cell."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = _conv_stack(x, self, [(2, 2), None, None])
        return self.conv4_2(x), F.softmax(self.conv4_1(x), dim=1)


def _flatten(x: torch.Tensor) -> torch.Tensor:
    # The weights come from Caffe, whose dense layers read (width, height, channel) order.
    return x.permute(0, 3, 2, 1).contiguous().view(x.shape[0], -1)


class RNet(nn.Module):
    """Refinement network on 24x24 crops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = _flatten(_conv_stack(x, self, [(3, 2), (3, 2), None]))
        x = self.prelu4(self.dense4(x))
        return self.dense5_2(x), F.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    """Output network on 48x48 crops: box, five landmarks, score."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = _flatten(_conv_stack(x, self, [(3, 2), (3, 2), (2, 2), None]))
        x = self.prelu5(self.dense5(x))
        return self.dense6_2(x), self.dense6_3(x), F.softmax(self.dense6_1(x), dim=1)


def _resample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area resampling (a box filter when shrinking), as MTCNN's reference code does."""
    return F.interpolate(x, size=size, mode="area")


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - 127.5) * 0.0078125


def _nms(
    boxes: torch.Tensor, scores: torch.Tensor, threshold: float, *, min_overlap: bool = False
) -> torch.Tensor:
    """Greedy non-maximum suppression; indices of the kept boxes, best first.

    Default: intersection over union of boxes with areas ``(x2-x1)(y2-y1)``, overlaps compared
    in double precision, ties in score kept in input order (torchvision's ``nms``).
    ``min_overlap``: intersection over the smaller area, with the inclusive ``+1`` pixel
    convention, compared in single precision, ties taken last index first (the original
    MATLAB code's last stage, as facenet-pytorch runs it with numpy).
    Runs in numpy: the boxes are few, and a loop of small numpy operations beats torch's.
    """
    b = boxes.detach().cpu().numpy().astype(np.float32, copy=False)
    s = scores.detach().cpu().numpy()
    one = np.float32(1.0 if min_overlap else 0.0)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    area = (x2 - x1 + one) * (y2 - y1 + one)
    order = np.argsort(s, kind="stable")[::-1] if min_overlap else np.argsort(-s, kind="stable")
    limit = np.float32(threshold) if min_overlap else threshold
    keep: list[int] = []
    while order.size:
        i, rest = int(order[0]), order[1:]
        keep.append(i)
        w = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one, one * 0)
        h = np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + one, one * 0)
        inter = w * h
        if min_overlap:
            overlap = inter / np.minimum(area[i], area[rest])
            order = rest[overlap <= limit]
        else:
            overlap = inter / (area[i] + area[rest] - inter)
            order = rest[overlap.astype(np.float64) <= limit]
    return torch.as_tensor(keep, dtype=torch.long, device=boxes.device)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes grown to squares about their centres (side: the longer side); score column kept."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return torch.stack([x1, y1, x1 + side, y1 + side, *boxes[:, 4:].unbind(1)], dim=1)


def _regress(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Boxes moved by a network's offsets, in units of the inclusive box size."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    moved = [
        boxes[:, 0] + offsets[:, 0] * w,
        boxes[:, 1] + offsets[:, 1] * h,
        boxes[:, 2] + offsets[:, 2] * w,
        boxes[:, 3] + offsets[:, 3] * h,
    ]
    return torch.stack([*moved, *boxes[:, 4:].unbind(1)], dim=1)


def _crops(img: torch.Tensor, boxes: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The boxes' pixels (truncated to whole pixels, clipped to the image), each resampled to
    ``size`` x ``size``; returns them and a mask of the boxes that had any pixel."""
    h, w = img.shape[2:]
    coords = boxes[:, :4].trunc().int().tolist()
    out, ok = [], []
    for x, y, ex, ey in coords:
        x, y, ex, ey = max(x, 1), max(y, 1), min(ex, w), min(ey, h)
        has = ey > y - 1 and ex > x - 1
        ok.append(has)
        if has:
            crop = img[0, :, y - 1 : ey, x - 1 : ex].unsqueeze(0)
            out.append(_resample(crop, (size, size)))
    mask = torch.tensor(ok, dtype=torch.bool, device=img.device)
    if not out:
        return img.new_zeros((0, 3, size, size)), mask
    return _normalise(torch.cat(out)), mask


def _in_chunks(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    parts = [net(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)]
    return tuple(torch.cat(p) for p in zip(*parts, strict=True))


class Cascade:
    """The three networks on one device; :meth:`detect` runs them on one RGB image."""

    def __init__(self, device: torch.device | str = "cpu", weights: Path | None = None) -> None:
        self.device = torch.device(device)
        folder = weights if weights is not None else weights_dir()
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        for name, net in (("pnet", self.pnet), ("rnet", self.rnet), ("onet", self.onet)):
            state = torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True)
            net.load_state_dict(state)
            net.to(self.device).eval()

    @torch.inference_mode()
    def detect(
        self,
        rgb: np.ndarray,
        min_size: float,
        thresholds: Sequence[float] = THRESHOLDS,
        factor: float = FACTOR,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Faces in an ``(H, W, 3)`` uint8 array: ``(N, 5)`` boxes ``x1, y1, x2, y2, prob`` and
        ``(N, 5, 2)`` landmarks, in its pixels, in the cascade's order.

        ``min_size``: the smallest face searched for, in pixels (the pyramid starts at
        ``12 / min_size``)."""
        # (1, H, W, 3) permuted to (1, 3, H, W): channels-last memory, the layout facenet-pytorch
        # gives its networks (convolutions in the other layout differ in the last bits).
        img = torch.as_tensor(np.array(rgb, dtype=np.uint8), device=self.device)
        img = img.unsqueeze(0).permute(0, 3, 1, 2).float()
        boxes = self._propose(img, min_size, thresholds[0], factor)
        if len(boxes):
            boxes = self._refine(img, boxes, thresholds[1])
        points = torch.zeros((0, 5, 2), device=self.device)
        if len(boxes):
            boxes, points = self._output(img, boxes, thresholds[2])
        return boxes.cpu().numpy(), points.cpu().numpy()

    def _propose(
        self, img: torch.Tensor, min_size: float, threshold: float, factor: float
    ) -> torch.Tensor:
        """Stage 1: P-Net over the pyramid; squared, regressed candidates with their scores."""
        h, w = img.shape[2:]
        scale = 12.0 / min_size
        shortest = min(h, w) * scale
        found = []
        while shortest >= 12:
            level = _resample(img, (int(h * scale + 1), int(w * scale + 1)))
            offsets, probs = self.pnet(_normalise(level))
            score = probs[0, 1]
            rows, cols = torch.nonzero(score >= threshold, as_tuple=True)
            cell = torch.stack([cols, rows], dim=1).to(img.dtype)
            cand = torch.cat(
                [
                    ((2 * cell + 1) / scale).floor(),
                    ((2 * cell + 12) / scale).floor(),
                    score[rows, cols].unsqueeze(1),
                    offsets[0][:, rows, cols].T,
                ],
                dim=1,
            )
            found.append(cand[_nms(cand[:, :4], cand[:, 4], 0.5)])
            scale *= factor
            shortest *= factor
        if not found:
            return img.new_zeros((0, 5))
        cand = torch.cat(found)
        cand = cand[_nms(cand[:, :4], cand[:, 4], 0.7)]
        w_, h_ = cand[:, 2] - cand[:, 0], cand[:, 3] - cand[:, 1]
        moved = torch.stack(
            [
                cand[:, 0] + cand[:, 5] * w_,
                cand[:, 1] + cand[:, 6] * h_,
                cand[:, 2] + cand[:, 7] * w_,
                cand[:, 3] + cand[:, 8] * h_,
                cand[:, 4],
            ],
            dim=1,
        )
        return _square(moved)

    def _refine(self, img: torch.Tensor, boxes: torch.Tensor, threshold: float) -> torch.Tensor:
        """Stage 2: R-Net on 24x24 crops."""
        crops, ok = _crops(img, boxes, 24)
        boxes = boxes[ok]
        if not len(boxes):
            return boxes
        offsets, probs = _in_chunks(self.rnet, crops)
        score = probs[:, 1]
        keep = score > threshold
        boxes = torch.cat([boxes[keep, :4], score[keep].unsqueeze(1)], dim=1)
        offsets = offsets[keep]
        pick = _nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[pick], offsets[pick]))

    def _output(
        self, img: torch.Tensor, boxes: torch.Tensor, threshold: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stage 3: O-Net on 48x48 crops: final boxes, scores and landmarks."""
        crops, ok = _crops(img, boxes, 48)
        boxes = boxes[ok]
        if not len(boxes):
            return boxes, torch.zeros((0, 5, 2), device=img.device)
        offsets, marks, probs = _in_chunks(self.onet, crops)
        score = probs[:, 1]
        keep = score > threshold
        boxes = torch.cat([boxes[keep, :4], score[keep].unsqueeze(1)], dim=1)
        offsets, marks = offsets[keep], marks[keep]
        w = (boxes[:, 2] - boxes[:, 0] + 1).unsqueeze(1)
        h = (boxes[:, 3] - boxes[:, 1] + 1).unsqueeze(1)
        xs = w * marks[:, :5] + boxes[:, 0:1] - 1
        ys = h * marks[:, 5:] + boxes[:, 1:2] - 1
        points = torch.stack([xs, ys], dim=2)
        boxes = _regress(boxes, offsets)
        pick = _nms(boxes[:, :4], boxes[:, 4], 0.7, min_overlap=True)
        return boxes[pick], points[pick]
