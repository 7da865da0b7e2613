"""How the dock tells the user: napari notifications that say which plugin speaks, and its
rule for errors."""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info, show_warning

PREFIX = "Ink Loop: "  # in napari's list of notifications, which plugin spoke
#: errors a user can cause (a bad file, a server's refusal): said in one message
USERS_ERRORS = (OSError, ValueError)


def say_info(text: str) -> None:
    """Show ``text`` as napari information, prefixed with `PREFIX`."""
    show_info(PREFIX + text)


def say_warning(text: str) -> None:
    """Show ``text`` as a napari warning, prefixed with `PREFIX`."""
    show_warning(PREFIX + text)


def say_error(text: str) -> None:
    """Show ``text`` as a napari error, prefixed with `PREFIX`."""
    show_error(PREFIX + text)


def say_failed(failure: str, error: BaseException) -> None:
    """Say a user's error (`USERS_ERRORS`) in one message, "``failure``: why"; raise any
    other whole (a bug: napari shows it with its traceback)."""
    if not isinstance(error, USERS_ERRORS):
        raise error
    say_error(f"{failure}: {error}")
