"""How the dock tells the user: napari notifications, and its rule for errors."""

from __future__ import annotations

from napari.utils.notifications import show_error

#: errors a user can cause (a bad file, a server's refusal): said in one message
USERS_ERRORS = (OSError, ValueError)


def say_failed(failure: str, error: BaseException) -> None:
    """Say a user's error (`USERS_ERRORS`) in one message, "``failure``: why"; raise any
    other whole (a bug: napari shows it with its traceback)."""
    if not isinstance(error, USERS_ERRORS):
        raise error
    show_error(f"{failure}: {error}")
