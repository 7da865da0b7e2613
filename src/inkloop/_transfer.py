"""Host arrays onto a device without making the host wait for the GPU."""

from __future__ import annotations


def to_device(array, device, dtype=None):
    """``array`` (numpy or a CPU tensor) as a tensor on ``device``, as ``dtype`` if given.

    On a CUDA device the copy goes through pinned memory and is queued behind the kernels
    before it. A plain copy from pageable memory synchronises the stream first: the host
    would wait for every queued kernel, once per small index array of an augmentation.
    """
    import torch

    tensor = torch.as_tensor(array, dtype=dtype)
    if torch.device(device).type != "cuda":
        return tensor.to(device)
    # the caching host allocator keeps the pinned block until the copy has run
    return tensor.pin_memory().to(device, non_blocking=True)
