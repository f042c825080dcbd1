"""The offline ``composite`` backend: real public-domain faces on procedurally drawn backdrops.

No network, no model: each image is a surreal (or, for ``backdrop_kind="realistic"``, a plain)
backdrop drawn with vectorised numpy, with ``num_people`` head-and-shoulders crops of photos that
ship inside scikit-image and matplotlib feathered onto it. Everything is a pure function of
``(seed, plan_key, attempt)`` (plus the backdrop phrase and the rates), so a run is reproducible
on any machine and at any concurrency, and a regeneration (a new ``attempt``) gives a new image.

Some attempts are deliberately bad (``fault_rate``): no face at all, or 4-5 faces (more than
``MAX_FACES=3``), so the pipeline's face gate and regeneration path are exercised offline. With
``signage_rate`` an attempt also carries a readable sign, so the OCR scrub path runs.

Source photos (all public domain or CC0, loaded from the installed packages):

- ``skimage.data.astronaut()``: NASA portrait of Eileen Collins (public domain).
- ``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``: US Navy portrait (public domain).
- ``skimage.data.camera()``: a man with a camera, by Lav Varshney (CC0; it replaced the old
  "cameraman" in scikit-image 0.18), greyscale and near profile, so it is used less often and
  never at the smallest sizes.

The package, one job per module (data flows down the list):

- ``seeds``: the per-purpose random generators, from ``(seed, plan_key, attempt, purpose)``;
- ``sources``: the public-domain photos and their feathered head-and-shoulders cut-outs;
- ``palettes``: the backdrop themes and colour palettes a backdrop phrase calls;
- ``backdrops``: drawing the backdrop (sky, ground, horizon, floating objects);
- ``people``: placing and pasting people so that no face is covered;
- ``signage``: the readable notice board (for the OCR scrub path);
- ``render``: :func:`render_composite`, one picture from all of the above;
- ``backend``: :class:`CompositeBackend`, the backend the pipeline calls.

The PNG encoder lives in :mod:`generator.imaging` (re-exported here as ``encode_png``).
"""

from generator.imaging import encode_png

from .backend import CompositeBackend
from .render import CompositeImage, render_composite
from .signage import SIGN_WORDS

__all__ = [
    "SIGN_WORDS",
    "CompositeBackend",
    "CompositeImage",
    "encode_png",
    "render_composite",
]
