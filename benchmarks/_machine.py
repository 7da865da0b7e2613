"""Which machine a benchmark ran on: its figures follow the CPU more than the code.

The development VMs come in more than one kind (an Intel CPU with AVX512-BF16 on some days, an
AMD EPYC with AVX2 only on others), and a training step of the default model takes about five
times longer on the second; so every timing or quality JSON says which it was.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def machine() -> dict:
    """CPU model, core count, the vector instructions torch uses, and whether bf16 is native."""
    import torch

    from inkloop.model import cpu_has_bf16

    try:
        model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        model = None
    return {
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "simd": torch.backends.cpu.get_cpu_capability(),
        "bf16_native": cpu_has_bf16(),
    }
