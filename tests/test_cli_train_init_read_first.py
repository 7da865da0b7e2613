"""`inkloop train --init` reads the checkpoint before it decodes the labels (seconds for a
large segment): a file that is no model is refused at once."""

from __future__ import annotations

from inkloop.cli import main
from tests._helpers import FAST


def test_an_unreadable_init_is_refused_before_the_labels_are_decoded(
    training_folder, tmp_path, monkeypatch, capsys
):
    notes = tmp_path / "notes.pt"
    notes.write_text("not a model\n")

    def decoded(*_args):
        raise AssertionError("the labels were decoded before --init was read")

    monkeypatch.setattr("inkloop._cli_train.train_labels", decoded)
    out = ["--init", str(notes), "--out", str(tmp_path / "out.pt")]
    assert main(["train", str(training_folder), *out, *FAST]) == 1
    assert "notes.pt: not a readable inkloop checkpoint" in capsys.readouterr().err
