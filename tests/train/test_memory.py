"""Training out of GPU memory: smaller batches and calibration windows, one notice, one error.

The model's hooks stand in for a full GPU: they raise what torch raises there, its own
OutOfMemoryError or the RuntimeError of an allocation made outside its allocator.
"""

from __future__ import annotations

import pytest
import torch

from tests._helpers import tiny_trainer

CUDNN_ALLOC = "cuDNN error: CUDNN_STATUS_ALLOC_FAILED"
ALLOCATION_FAILURES = [
    CUDNN_ALLOC,
    "cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED",
    "CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported",
]
# what may follow a full GPU but may as well be an input cuDNN cannot take: not halved away
NOT_SUPPORTED = (
    "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in a "
    "non-contiguous input."
)


def _fail_above(module, batch: int = 0, width: int = 0, error=None) -> None:
    """Make ``module``'s forward passes raise ``error`` (a cuDNN allocation failure) where
    their inputs hold more than ``batch`` patches or are wider than ``width`` (0: any)."""

    def full(_module, inputs):
        images = inputs[0]
        if images.shape[0] > batch and images.shape[-1] > width:
            raise error or RuntimeError(CUDNN_ALLOC)

    module.register_forward_pre_hook(full)


@pytest.mark.parametrize("workers", [0, 1], ids=["thread", "worker process"])
def test_out_of_gpu_memory_halves_the_batch_and_tells_once(parts, workers):
    trainer = tiny_trainer(parts, batch_size=8, loader_workers=workers)
    _fail_above(trainer.model, batch=2, error=torch.OutOfMemoryError("CUDA out of memory"))
    result = trainer.step()
    again = trainer.step()
    trainer.close()
    assert result.batch_size == again.batch_size == 2
    assert result.notice == "out of GPU memory: batch size halved to 4, training goes on"
    assert again.notice is None


@pytest.mark.parametrize("message", ALLOCATION_FAILURES)
def test_a_failed_allocation_outside_torchs_allocator_halves_the_batch_too(parts, message):
    trainer = tiny_trainer(parts, batch_size=8)
    _fail_above(trainer.model, batch=2, error=RuntimeError(message))
    result = trainer.step()
    trainer.close()
    assert result.batch_size == 2
    assert result.notice == "out of GPU memory: batch size halved to 4, training goes on"


def test_an_error_that_is_not_out_of_memory_fails_the_step_as_it_is(parts):
    trainer = tiny_trainer(parts, batch_size=8)
    _fail_above(trainer.model, error=RuntimeError(NOT_SUPPORTED))
    with pytest.raises(RuntimeError, match="CUDNN_STATUS_NOT_SUPPORTED"):
        trainer.step()
    trainer.close()
    assert trainer.batch_size == 8


def test_no_room_for_a_batch_of_one_is_one_clear_error_that_says_why(parts):
    trainer = tiny_trainer(parts, batch_size=2)
    _fail_above(trainer.model)
    with pytest.raises(MemoryError, match="even with a batch of 1") as failed:
        trainer.step()
    trainer.close()
    assert str(failed.value.__cause__) == CUDNN_ALLOC  # what ran out, for a bug report


def test_out_of_memory_calibrating_narrows_the_window_and_training_goes_on(parts):
    trainer = tiny_trainer(parts)  # patches of 32: windows of 128
    _fail_above(trainer.inference_model, width=64)  # the model calibrated on, not trained
    first = trainer.step()  # the first step calibrates
    narrowed = "out of GPU memory: calibration windows narrowed to 64², training goes on"
    assert first.notice == narrowed
    assert trainer.logit_offset() != 0.0  # measured on a 64² window
    notices = [trainer.step().notice for _ in range(20)]  # calibrates again, on 64² at once
    trainer.close()
    assert notices == [None] * 20


def test_no_room_to_calibrate_even_a_patch_skips_it_with_one_notice(parts):
    trainer = tiny_trainer(parts)
    _fail_above(trainer.inference_model, error=torch.OutOfMemoryError("CUDA out of memory"))
    first = trainer.step()
    assert first.notice == (
        "out of GPU memory even for one 32² calibration window: the logit offset stays 0.00 "
        "until one fits, training goes on"
    )
    notices = [trainer.step().notice for _ in range(20)]  # tries again, and is quiet
    trainer.close()
    assert notices == [None] * 20
    assert trainer.step_count == 21
    assert trainer.logit_offset() == 0.0


def test_an_error_calibrating_that_is_not_out_of_memory_fails_the_step_as_it_is(parts):
    trainer = tiny_trainer(parts)
    _fail_above(trainer.inference_model, error=RuntimeError(NOT_SUPPORTED))
    with pytest.raises(RuntimeError, match="CUDNN_STATUS_NOT_SUPPORTED"):
        trainer.step()
    trainer.close()
