"""The versions of the software that trains a model, for its checkpoint's provenance."""

from __future__ import annotations

import functools
import platform
import sys
from importlib import metadata

# the modules whose versions change what a run computes, and their distributions' names
_DISTRIBUTIONS = {
    "torch": "torch",
    "segmentation_models_pytorch": "segmentation-models-pytorch",
    "timm": "timm",
}


@functools.cache
def software_versions() -> dict[str, str | None]:
    """inkloop's, torch's, segmentation_models_pytorch's, timm's and Python's versions (None
    for one not installed): an imported module's own (torch's names its build, such as
    ``+cu130``), else its installed metadata's. Read once."""
    from inkloop import __version__

    return {
        "inkloop": __version__,
        **{name: _version(name, distribution) for name, distribution in _DISTRIBUTIONS.items()},
        "python": platform.python_version(),
    }


def _version(module: str, distribution: str) -> str | None:
    if version := getattr(sys.modules.get(module), "__version__", None):
        return str(version)
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
