"""`inkloop train`'s model: encoder, depth, output stride and z-stem chosen and recorded; an
--init finetuned on the layers it was trained on, however the stack numbers them."""

from __future__ import annotations

from inkloop.checkpoint import load_checkpoint
from inkloop.cli import main
from tests._helpers import FAST


def test_window_options_given_with_init_are_refused_not_ignored(training_folder, tmp_path, capsys):
    init = tmp_path / "init.pt"
    args = ["train", str(training_folder), "--max-steps", "1", *FAST]
    assert main([*args, "--out", str(init), "--z-count", "4"]) == 0
    capsys.readouterr()
    again = [*args, "--init", str(init), "--out", str(tmp_path / "next.pt")]
    assert main([*again, "--z-count", "8", "--encoder", "auto"]) == 1  # even the default
    error = capsys.readouterr().err
    assert f"--init {init} brings its own model and z-window: leave out --z-count, --encoder" in (
        error
    )
    assert main(again) == 0  # the checkpoint's window, as it was trained
    assert load_checkpoint(tmp_path / "next.pt").composition.z_count == 4


def test_finetuning_on_a_download_of_fewer_layers_reads_the_layers_it_was_trained_on(
    training_folder, tmp_path
):
    import shutil

    subset = shutil.copytree(training_folder, tmp_path / training_folder.name)
    (subset / "layers" / "00.tif").unlink()  # layers 01..07: every position one lower
    init, tuned = tmp_path / "init.pt", tmp_path / "tuned.pt"
    args = ["--max-steps", "1", *FAST]
    assert main(["train", str(training_folder), "--out", str(init), *args]) == 0
    assert main(["train", str(subset), "--init", str(init), "--out", str(tuned), *args]) == 0

    before, after = load_checkpoint(init), load_checkpoint(tuned)
    assert after.layers == before.layers == (2, 3, 4, 5)
    assert after.composition.z_start == before.composition.z_start - 1


def test_a_z_stem_model_trains_and_predicts(training_folder, tmp_path, capsys):
    model, out = tmp_path / "model.pt", tmp_path / "ink.png"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    assert main([*args, "--z-stem", "4", *FAST]) == 0
    assert load_checkpoint(model).model.z_stem == 4
    assert main(["predict", str(training_folder), "--model", str(model), "--out", str(out)]) == 0
    assert out.is_file()
    assert main([*args, "--z-stem", "-1", *FAST]) == 1
    assert "z-stem's width is a count of features" in capsys.readouterr().err


def test_the_output_stride_is_chosen_and_recorded(training_folder, tmp_path):
    model = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    assert main([*args, *FAST]) == 0
    assert load_checkpoint(model).model.output_stride == 4
    assert main([*args, "--output-stride", "1", *FAST]) == 0
    assert load_checkpoint(model).model.output_stride == 1


def test_the_encoder_depth_is_chosen_and_recorded(training_folder, tmp_path):
    model, out = tmp_path / "model.pt", tmp_path / "ink.png"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    assert main([*args, *FAST]) == 0
    assert load_checkpoint(model).model.encoder_depth == 4  # the default
    assert main([*args, "--encoder-depth", "5", *FAST]) == 0
    assert load_checkpoint(model).model.encoder_depth == 5
    assert main(["predict", str(training_folder), "--model", str(model), "--out", str(out)]) == 0
    assert out.is_file()


def test_the_encoder_is_chosen_by_name_and_a_misspelt_one_gets_a_suggestion(
    training_folder, tmp_path, capsys
):
    model = tmp_path / "model.pt"
    args = ["train", str(training_folder), "--out", str(model), "--overwrite", "--max-steps", "1"]
    args += FAST
    assert main([*args, "--encoder", "tu-resnet10t"]) == 0
    assert load_checkpoint(model).model.encoder == "tu-resnet10t"
    out = tmp_path / "ink.png"
    assert main(["predict", str(training_folder), "--model", str(model), "--out", str(out)]) == 0
    assert out.is_file()
    capsys.readouterr()
    assert main([*args, "--encoder", "resnet19"]) == 1
    error = capsys.readouterr().err
    assert "unknown encoder 'resnet19'; did you mean resnet18" in error
    assert error.count("\n") == 1


def test_finetuning_on_layers_numbered_otherwise_places_the_window_with_z_start(
    training_folder, tmp_path, capsys
):
    import shutil

    renamed = shutil.copytree(training_folder, tmp_path / training_folder.name)
    for layer in sorted((renamed / "layers").glob("*.tif")):  # files 20..27: none trained on
        layer.rename(layer.with_name(f"{int(layer.stem) + 20}.tif"))
    init, tuned = tmp_path / "init.pt", tmp_path / "tuned.pt"
    args = ["--max-steps", "1", *FAST]
    assert main(["train", str(training_folder), "--out", str(init), *args]) == 0
    again = ["train", str(renamed), "--init", str(init), "--out", str(tuned), *args]
    capsys.readouterr()
    assert main(again) == 1
    assert "`--z-start` of `inkloop train` or `predict`" in capsys.readouterr().err
    assert main([*again, "--z-start", "1"]) == 0
    assert load_checkpoint(tuned).composition.z_start == 1
    assert load_checkpoint(tuned).layers == (21, 22, 23, 24)


def test_a_window_off_a_stack_numbered_otherwise_names_its_file_numbers(
    training_folder, tmp_path, capsys
):
    import shutil

    renamed = shutil.copytree(training_folder, tmp_path / training_folder.name)
    for layer in sorted((renamed / "layers").glob("*.tif")):
        layer.rename(layer.with_name(f"{int(layer.stem) + 20}.tif"))
    args = ["train", str(renamed), "--out", str(tmp_path / "m.pt"), "--z-start", "23"]
    assert main([*args, "--max-steps", "1", *FAST]) == 1
    error = capsys.readouterr().err
    assert "is outside layers 0..7 (positions, of files numbered 20..27)" in error
