"""napari's own open (File → Open, `viewer.open`, `napari URL`) hands every segment URL form
the README writes to Ink Loop's reader: npe2 offers a reader only the paths its manifest's
filename_patterns match (a URL whole, a local file by its name), and `get_reader` decides."""

from __future__ import annotations

import pytest

from tests._http import NAME, serve, write_served_segment

URL_FORMS = [".zarr", ".zarr/", ".zarr/0", ".zarr/0/", ".ome.zarr", ".ome.zarr/", ".ome.zarr/0"]


def _offered(path: str) -> set[str]:
    """The plugins whose readers npe2 offers for ``path``, as napari's open asks it."""
    from npe2 import PluginManager

    manager = PluginManager.instance()
    manager.discover()  # from the entry points, as napari finds its plugins
    return {reader.plugin_name for reader in manager.iter_compatible_readers([path])}


@pytest.mark.parametrize("ending", URL_FORMS)
def test_npe2_offers_ink_loop_every_segment_url_form(ending):
    assert "napari-inkloop" in _offered(f"https://data.example/full-scrolls/{NAME}{ending}")


def test_npe2_still_offers_local_folders_and_no_file_inside_a_zarr(segment_folder):
    store = segment_folder / f"{NAME}.zarr"
    (store / "0").mkdir(parents=True)
    (store / "0" / "zarr.json").write_text("{}")

    assert "napari-inkloop" in _offered(str(segment_folder))
    assert "napari-inkloop" in _offered(str(store / "0"))  # a folder: get_reader decides
    assert "napari-inkloop" not in _offered(str(store / "0" / "zarr.json"))


def test_viewer_open_reads_a_segment_url_that_ends_in_a_slash(
    make_napari_viewer, tmp_path, synthetic, monkeypatch
):
    monkeypatch.setenv("INKLOOP_DATA", str(tmp_path / "data"))
    volume = write_served_segment(tmp_path, NAME, synthetic)
    viewer = make_napari_viewer()

    with serve(tmp_path) as (base, _server):
        image, *_, labels = viewer.open(f"{base}/{NAME}.zarr/", plugin="napari-inkloop")

    assert (image.name, image.data.shape) == (NAME, volume.shape)
    assert (labels.name, labels.data.shape) == ("ink labels", volume.shape[1:])
