"""Which errors mean the GPU ran out of memory, where torch does not say so by their class.

torch raises `torch.OutOfMemoryError` where its own allocator finds no room. Memory taken
around it fails as a plain RuntimeError: cuDNN's and cuBLAS's own allocations (a handle, an
engine's buffers) with their ALLOC_FAILED status (cuDNN 9 also says
CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED), the CUDA runtime's with "CUDA error:
out of memory", Apple's MPS allocator's with "MPS backend out of memory". Each names a failed
allocation and nothing else.

Left out, though a full GPU may end in them: "CUDNN_STATUS_NOT_SUPPORTED. This error may
appear if you passed in a non-contiguous input", "Unable to find a valid cuDNN algorithm",
"unable to find an engine". torch already retries a convolution whose workspace does not
fit with the algorithms that need less; these say that none ran, for want of memory or of
support for the input, and halving the batch would hide the second.
"""

from __future__ import annotations

ALLOCATION_FAILED = (
    "CUDNN_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDA error: out of memory",
    "MPS backend out of memory",  # Apple's GPU: MPSAllocator's TORCH_CHECK, a RuntimeError
)


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the GPU had no room for an allocation (so that less may fit)."""
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and any(s in str(error) for s in ALLOCATION_FAILED)


def release_cached_memory() -> None:
    """After an out-of-memory error, give the allocator's unused blocks back (CUDA's, and on a
    Mac the MPS allocator's), so a smaller pass or batch finds them."""
    import torch

    torch.cuda.empty_cache()  # does nothing where CUDA was never used
    if torch.backends.mps.is_available():
        torch.mps.empty_cache()
