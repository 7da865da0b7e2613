"""Check stack follows the dock's rule for errors (`_say.say_failed`): a stack that cannot be
read is said in one message, a bug in the check is raised whole, not dressed up as one."""

from __future__ import annotations

import pytest

from inkloop._napari import _guide_panel
from tests._napari._gui import messages


def _failing_with(error):
    def profile(segment):
        raise error

    return profile


def test_a_bug_in_the_check_is_raised_not_said_as_an_unreadable_stack(
    segment_widget, qtbot, monkeypatch
):
    guide = segment_widget.guide_panel
    monkeypatch.setattr(_guide_panel, "_profile", _failing_with(IndexError("index 5 is out")))
    shown = len(messages(0))

    with qtbot.capture_exceptions() as raised:
        guide.check_button.click()
        qtbot.waitUntil(lambda: guide.check_button.isEnabled())

    assert [type(error) for _, error, _ in raised] == [IndexError]
    assert not [m for m in messages(shown) if "could not be read" in m]


@pytest.mark.parametrize("error", [OSError("the drive went away"), ValueError("not a stack")])
def test_a_users_error_is_still_said_once(segment_widget, qtbot, monkeypatch, error):
    guide = segment_widget.guide_panel
    monkeypatch.setattr(_guide_panel, "_profile", _failing_with(error))
    shown = len(messages(0))

    guide.check_button.click()
    qtbot.waitUntil(lambda: guide.check_button.isEnabled())

    assert messages(shown) == [f"Ink Loop: the stack could not be read: {error}"]
