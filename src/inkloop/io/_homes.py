"""Where inkloop keeps its own files, in the platform's folders (platformdirs): a cache of
what it can make again, and user data, which no cleaner may empty."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_ENV = "INKLOOP_DATA"  # `data_home`: remote segments' folders, read-only ones' work


def cache_home() -> Path:
    """inkloop's cache, for what it can make again, where the platform keeps caches
    (``~/.cache/inkloop`` on Linux, ``$XDG_CACHE_HOME`` honoured; ``~/Library/Caches/inkloop``
    on macOS; ``%LOCALAPPDATA%\\inkloop\\Cache`` on Windows)."""
    return platformdirs.user_cache_path("inkloop", appauthor=False)


def data_home() -> Path:
    """inkloop's user data: `DATA_ENV`, else the platform's data folder
    (``~/.local/share/inkloop`` on Linux, ``$XDG_DATA_HOME`` honoured). Remote segments'
    folders are in its ``remote/``, read-only segments' work in its ``read-only/``."""
    home = os.environ.get(DATA_ENV)
    return Path(home).expanduser() if home else platformdirs.user_data_path("inkloop", False)
