"""A 3 x 3 convolution of a nearest-neighbour 2x upsampling, computed before the upsampling.

Each block of a UNet's decoder doubles its input by repeating every pixel 2 x 2, then convolves.
Of the nine pixels a 3 x 3 kernel reads there, only four differ, so each of the four output
phases (even or odd row, even or odd column) is a 2 x 2 convolution of the input as it was:
4/9 of the multiplications, the upsampled copy never made, and the phases interleaved in one
pass (added straight into the other half of a split concatenation where there is one). On two
AVX2 cores the up-part of the default model's decoder blocks takes about half the time
(docs/quality.md, "Upsampling folded into the convolution").
"""

from __future__ import annotations

import operator

import torch
from torch import nn
from torch.nn import functional

from inkloop.predict._sources import WeightSource

# output phase k = (row parity, column parity), in the order of the phase convolution's outputs
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))
# which of a 3 x 3 kernel's rows (or columns) land on each of a 2 x 2 kernel's, per parity:
# an even output row reads input rows i-1 (kernel row 0) and i (rows 1 and 2), an odd one
# rows i (kernel rows 0 and 1) and i+1 (row 2)
_TAPS = torch.tensor([[[1.0, 0, 0], [0, 1, 1]], [[1.0, 1, 0], [0, 0, 1]]])


class UpsampledConv(nn.Module):
    """``conv(interpolate(x, 2 x, nearest)) [+ add_to]`` for a 3 x 3, stride-1, padding-1
    ``conv``, computed at ``x``'s resolution; the result is channels_last."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.out_channels = conv.out_channels
        # skip_init: its weights are set below; an initialisation would draw random numbers
        self.phases = nn.utils.skip_init(
            nn.Conv2d, conv.in_channels, 4 * conv.out_channels, 2, padding=1,
            bias=conv.bias is not None, device=conv.weight.device, dtype=conv.weight.dtype,
        )  # fmt: skip
        self.set_weights(conv.weight, conv.bias)

    @staticmethod
    def fits(conv) -> bool:
        """Whether ``conv`` is a convolution this rewrite computes exactly."""
        return (
            type(conv) is nn.Conv2d
            and conv.groups == 1
            and conv.padding_mode == "zeros"
            and conv.kernel_size == (3, 3)
            and conv.stride == (1, 1)
            and conv.padding == (1, 1)
            and conv.dilation == (1, 1)
        )

    @torch.no_grad()
    def set_weights(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        """Take a 3 x 3 convolution's weights (and bias) as the four phases'."""
        taps = _TAPS.to(weight)
        phases = [torch.einsum("kr,oirs,ls->oikl", taps[a], weight, taps[b]) for a, b in PHASES]
        self.phases.weight.copy_(torch.cat(phases))
        if self.phases.bias is not None:
            self.phases.bias.copy_(bias.repeat(len(PHASES)))

    def forward(self, inputs, size=None, add_to=None):
        count, _, rows, cols = inputs.shape
        if size is not None and tuple(size) != (2 * rows, 2 * cols):
            raise ValueError(f"upsampling {rows} x {cols} to {tuple(size)}: only 2x is folded")
        channels = self.out_channels
        phases = self.phases(inputs)
        if add_to is None:
            out = torch.empty(
                (count, channels, 2 * rows, 2 * cols), dtype=phases.dtype,
                device=phases.device, memory_format=torch.channels_last,
            )  # fmt: skip
        elif add_to.dtype != phases.dtype:  # a sum promotes; adding in place would not
            return self.forward(inputs, size) + add_to
        else:  # the caller's own sum: nothing else reads it, so it is added to in place
            out = add_to.contiguous(memory_format=torch.channels_last)
        grid = out.permute(0, 2, 3, 1).view(count, rows, 2, cols, 2, channels)
        phases = phases.permute(0, 2, 3, 1)  # (N, H + 1, W + 1, 4 C), as in memory
        for index, (a, b) in enumerate(PHASES):  # four copies: 2x faster than one of all
            part = phases[:, a : a + rows, b : b + cols, index * channels : (index + 1) * channels]
            target = grid[:, :, a, :, b]
            target.copy_(part) if add_to is None else target.add_(part)
        return out


def fold_upsampling(graph, sources: dict, sample) -> None:
    """Rewrite, in place, each ``conv(interpolate(x, nearest))`` that `UpsampledConv` fits as
    one, taking along a sum the convolution is the first term of (``conv(…) + other``, other
    read by nothing else). ``sample``: an input the graph runs on, to learn which sizes are
    2x. ``sources`` (see `inkloop.predict._sources.SOURCES`) notes the rewrite."""
    from torch.fx.passes.shape_prop import ShapeProp

    with torch.inference_mode():
        ShapeProp(graph).propagate(sample)
    modules = dict(graph.named_modules())
    for node in list(graph.graph.nodes):
        conv = modules.get(node.target) if node.op == "call_module" else None
        upsampling = node.args[0] if node.args else None
        if not UpsampledConv.fits(conv) or not _nearest_upsampling(upsampling):
            continue
        name = f"{node.target.replace('.', '_')}_upsampled"
        graph.add_submodule(name, UpsampledConv(conv))
        source = sources.pop(node.target, None) or WeightSource(node.target, None, None, True)
        sources[name] = source._replace(upsampled=True)
        size = upsampling.kwargs.get("size")  # None: a scale factor of 2
        inputs, replaced = (upsampling.args[0], size), node
        total = next(iter(node.users)) if len(node.users) == 1 else None
        other = _other_term(total, node, modules)
        if other is not None:
            inputs, replaced = (*inputs, other), total
        with graph.graph.inserting_before(replaced):
            new = graph.graph.call_module(name, inputs)
        replaced.replace_all_uses_with(new)
        graph.graph.erase_node(replaced)
        if replaced is not node:
            graph.graph.erase_node(node)
        graph.graph.erase_node(upsampling)
    graph.delete_all_unused_submodules()
    graph.recompile()


def _nearest_upsampling(node) -> bool:
    """Whether ``node`` is a nearest-neighbour interpolation by 2 (or to a size, which
    `UpsampledConv` checks is 2x) that only the convolution after it reads."""
    if getattr(node, "target", None) is not functional.interpolate or len(node.users) != 1:
        return False
    kwargs = node.kwargs
    scale = kwargs.get("scale_factor")
    by_two = scale in (2, 2.0, (2, 2), (2.0, 2.0)) or (scale is None and "size" in kwargs)
    shapes = [getattr(n, "meta", {}).get("tensor_meta") for n in (node.args[0], node)]
    if all(shapes):  # the sample pass measured them: a size that is not 2x is left
        (*_, rows, cols), (*_, out_rows, out_cols) = (meta.shape for meta in shapes)
        by_two = by_two and (out_rows, out_cols) == (2 * rows, 2 * cols)
    return kwargs.get("mode", "nearest") == "nearest" and by_two and len(node.args) == 1


def _other_term(total, term, modules):
    """The other operand of the sum ``total`` = ``term + other`` if it is a convolution's
    fresh output that nothing else reads (so adding into it in place is safe)."""
    if getattr(total, "target", None) is not operator.add or len(total.args) != 2:
        return None
    if total.args[0] is not term or total.args[1] is term:
        return None
    other = total.args[1]
    if getattr(other, "op", None) != "call_module" or len(other.users) != 1:
        return None
    return other if type(modules.get(other.target)) is nn.Conv2d else None
