"""The DGM4+ generator: plan, generate, gate, crop, scrub, dedup, store, build, release."""

#: The one version of the project: the package (pyproject reads it), ``dgm4plus --version`` and
#: the ``datasets`` builder's VERSION.
__version__ = "0.2.0"
