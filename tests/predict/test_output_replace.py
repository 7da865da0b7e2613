"""A folder prediction replacing an older one: a run stopped between the renames (a kill, a
full disk) leaves a whole output, the old or the new, which the next run into it puts back
before staging anew."""

from __future__ import annotations

import os
import shutil

import dask.array as da
import numpy as np
import pytest

from inkloop.io import prediction_kind, read_prediction
from inkloop.predict import write_prediction
from inkloop.predict._outputs import PredictionFile
from tests._helpers import posix_only

OLD, NEW = np.full((40, 50), 0.2, np.float32), np.full((40, 50), 0.8, np.float32)


class Killed(BaseException):
    """What the injected failure raises: not an Exception, as a kill is caught by nothing."""


def _fail_at(patch, call, ending: str) -> None:
    """Make ``call`` (os.replace or shutil.rmtree) raise `Killed` where it is given a path
    ending in ``ending``: as the destination of a rename, or as the folder to remove."""
    renames = call is os.replace
    module = os if renames else shutil

    def failing(*paths, **kwargs):
        if str(paths[-1] if renames else paths[0]).endswith(ending):
            raise Killed(ending)
        return call(*paths, **kwargs)

    patch.setattr(module, call.__name__, failing)


@pytest.mark.parametrize("name", ["p.ome.zarr", "p.zarr"])
@pytest.mark.parametrize(
    ("call", "ending", "left"),
    [
        (os.replace, ".new", OLD),  # the staged copy not known complete: the old one stays
        (os.replace, ".old", NEW),  # the new one complete: the next run puts it in place
        (os.replace, "", NEW),  # the new one onto the output, both set aside: the same
        (shutil.rmtree, ".old", NEW),  # the new one in place, the old one half removed
    ],
    ids=["marking-the-new-complete", "setting-the-old-aside", "moving-the-new-in", "removing"],
)
def test_a_replace_stopped_between_renames_leaves_the_next_run_an_output(
    tmp_path, monkeypatch, name, call, ending, left
):
    out = write_prediction(da.from_array(OLD), tmp_path / name, progress=False)
    with monkeypatch.context() as patch:
        _fail_at(patch, call, ending or name)
        with pytest.raises(Killed):
            write_prediction(da.from_array(NEW), out, progress=False)
    # the next run stages (and fails, say): what it found is back under the output's name
    PredictionFile(out, prediction_kind(out), OLD.shape).abandon()
    assert [p.name for p in tmp_path.iterdir()] == [name]
    np.testing.assert_allclose(read_prediction(out), left, atol=1 / 255)


@posix_only("a symbolic link (Windows gives the right to make one to few users)")
def test_an_output_that_is_a_link_is_replaced_and_what_it_pointed_to_kept(tmp_path):
    """The link set aside was removed as a folder (rmtree refuses a link): the run failed
    after writing, and every later run into it again."""
    target = write_prediction(da.from_array(OLD), tmp_path / "elsewhere.ome.zarr", progress=False)
    link = tmp_path / "p.ome.zarr"
    link.symlink_to(target, target_is_directory=True)
    for _ in range(2):
        write_prediction(da.from_array(NEW), link, progress=False)
        assert not link.is_symlink()
        np.testing.assert_allclose(read_prediction(link), NEW, atol=1 / 255)
    np.testing.assert_allclose(read_prediction(target), OLD, atol=1 / 255)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.ome.zarr", "p.ome.zarr"]
