"""Which errors count as the GPU out of memory: only those that name a failed allocation."""

from __future__ import annotations

import pytest
import torch

from inkloop._cuda import out_of_memory


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"),
        RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED"),
        RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously ..."),
        RuntimeError(
            "MPS backend out of memory (MPS allocated: 17.36 GB, other allocations: 613.56 MB, "
            "max allowed: 18.13 GB). Tried to allocate 1.00 GB on private pool."
        ),
    ],
    ids=str,
)
def test_a_failed_allocation_is_out_of_memory(error):
    assert out_of_memory(error)


@pytest.mark.parametrize(
    "error",
    [
        # what an input cuDNN cannot take says as well as a full GPU
        RuntimeError(
            "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in a "
            "non-contiguous input."
        ),
        RuntimeError("Unable to find a valid cuDNN algorithm to run convolution"),
        RuntimeError("GET was unable to find an engine to execute this computation"),
        # host memory, and errors that no smaller batch mends
        RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED"),
        RuntimeError("CUDA error: an illegal memory access was encountered"),
        RuntimeError("Given groups=1, weight of size [8, 3, 3, 3], expected input[1, 5, 64, 64]"),
    ],
    ids=str,
)
def test_anything_else_is_not(error):
    assert not out_of_memory(error)
