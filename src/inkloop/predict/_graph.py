"""A model made ready for predicting only: eval mode, each BatchNorm folded into its convolution.

In eval mode a BatchNorm is an affine map per channel, so it folds into the weights of the
convolution before it, and the forward pass skips one full read and write of every feature
map. The outputs are the same to float rounding; a 1024² viewport of the default model on two
AVX2 CPU cores in float32 takes 17-20% less time (docs/quality.md, "Screens of 2026-12-03
(fourth session)").
torch.fx does the tracing and the folding rather than a walk over named modules, because
timm's encoders keep their BatchNorms as attributes beside the convolutions, not in
Sequentials.
"""

from __future__ import annotations

import copy
import warnings


def inference_graph(model):
    """An eval-mode copy of ``model`` with every BatchNorm folded into the convolution it
    follows; the model itself is left as it was (it may go on training). A model torch.fx
    cannot trace (some smp encoders branch on their inputs) is copied unfolded, with a
    warning that says so."""
    from torch.fx.experimental.optimization import fuse

    try:
        return fuse(copy.deepcopy(model).eval(), inplace=True)
    except Exception as error:  # fx raises several types for an untraceable forward
        warnings.warn(
            f"predicting without folded BatchNorms (torch.fx cannot trace this model: "
            f"{type(error).__name__}: {error})",
            RuntimeWarning,
            stacklevel=2,
        )
        return copy.deepcopy(model).eval()
