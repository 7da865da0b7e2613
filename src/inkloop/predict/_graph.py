"""A model made ready for predicting only: eval mode, BatchNorms folded, concatenations split,
upsamplings folded into the convolutions after them (`inkloop.predict._upsampled`).

In eval mode a BatchNorm is an affine map per channel, so it folds into the weights of the
convolution before it, and the forward pass skips one full read and write of every feature
map. The outputs are the same to float rounding; a 1024² viewport of the default model on two
AVX2 CPU cores in float32 takes 17-20% less time (docs/quality.md, "Screens of 2026-12-03
(fourth session)").
A UNet's decoder concatenates its upsampled features with the encoder's skip before each
block's first convolution; that convolution is a sum over its input channels, so it splits
into one convolution per concatenated part whose outputs are added, and the copy of every
pixel of both parts into one tensor goes (in channels_last on a CPU it cost about as much as
the convolution it fed: the viewport a further ~10% less, docs/quality.md, "Concatenations").
torch.fx does the tracing and the rewriting rather than a walk over named modules, because
timm's encoders keep their BatchNorms as attributes beside the convolutions, not in
Sequentials, and the concatenations are function calls inside smp's decoder.
"""

from __future__ import annotations

import copy
import operator

from inkloop._notify import notify
from inkloop.predict._sources import SOURCES, WeightSource


def inference_graph(model):
    """An eval-mode copy of ``model`` with every BatchNorm folded into the convolution it
    follows, every convolution of concatenated inputs split by input and every 2x nearest
    upsampling folded into the 3 x 3 convolution after it (`UpsampledConv`); the model itself is
    left as it was (it may go on training, and `refresh_inference_graph` brings its new
    weights over). The graph must predict what the model does on a sample input: a rewrite
    that fails or differs there is skipped with a warning that says so (as is the whole graph
    for a model torch.fx cannot trace: some encoders branch on their inputs), so an unusual
    encoder predicts more slowly, never wrongly."""
    import torch

    from inkloop.predict._tracing import symbolic_trace

    try:
        graph = symbolic_trace(copy.deepcopy(model).eval())
    except Exception as error:  # fx raises several types for an untraceable forward
        _warn("predicting without folded BatchNorms: torch.fx cannot trace this model", error)
        return copy.deepcopy(model).eval()
    try:
        sample = _sample_input(model)
        with torch.inference_mode():
            expected = graph(sample)
    except Exception as error:  # no input of the guessed shape fits: nothing to check with
        _warn("predicting without folded BatchNorms: no sample input to check them on", error)
        return copy.deepcopy(model).eval()
    sources: dict = {}
    try:
        for rewrite, _ in _rewrites():
            rewrite(graph, sources, sample)
        _check(graph, sample, expected)
    except Exception:  # a rewrite does not fit this model: find which, keep the others
        graph, sources = symbolic_trace(copy.deepcopy(model).eval()), {}
        for rewrite, skipped in _rewrites():
            graph, sources = _checked(rewrite, graph, sources, sample, expected, skipped)
    graph.meta[SOURCES] = sources
    return graph


def _rewrites():
    """Each rewrite of `inference_graph`, with what its warning says when it is skipped."""
    # here: _upsampled imports torch, and the napari process imports this module, never torch
    # (docs/architecture.md §3)
    from inkloop.predict._upsampled import fold_upsampling

    return (
        (_fold_batch_norms, "predicting with BatchNorms unfolded"),
        (_split_concatenations, "predicting with concatenations unsplit"),
        (fold_upsampling, "predicting with upsamplings unfolded"),
    )


def _checked(rewrite, graph, sources: dict, sample, expected, skipped: str):
    """``rewrite`` applied to copies of ``graph`` and ``sources``, if the result predicts
    ``expected`` for ``sample``; else the originals, with a warning that starts ``skipped``."""
    candidate, candidate_sources = copy.deepcopy(graph), dict(sources)
    try:
        rewrite(candidate, candidate_sources, sample)
        _check(candidate, sample, expected)
    except Exception as error:  # a graph this rewrite does not fit: left as it was
        _warn(skipped, error)
        return graph, sources
    return candidate, candidate_sources


def _check(graph, sample, expected) -> None:
    """ValueError unless ``graph`` predicts ``expected`` for ``sample``, to float rounding."""
    import torch

    with torch.inference_mode():
        difference = (graph(sample) - expected).abs().max().item()
    # rounding (TF32 on a GPU included) stays well inside 1% of the largest logit (in bf16 or
    # fp16 weights, within a few of their steps); a wrong rewrite is off by as much as the
    # logits themselves
    tolerance = max(0.01, 16 * torch.finfo(expected.dtype).eps)
    if not difference <= tolerance * expected.abs().max().item() + 1e-6:
        raise ValueError(f"its outputs differ from the model's by up to {difference:.3g}")


def _warn(what: str, error: Exception) -> None:
    notify(f"{what} ({type(error).__name__}: {error})", stacklevel=3)


def refresh_inference_graph(graph, model) -> None:
    """Give ``graph``, an `inference_graph` of ``model``, the model's current weights, folded
    and split as they were: a few milliseconds, where a new graph takes ~0.2 s (its trace),
    so a preview while training can predict with the faster graph."""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    sources = getattr(graph, "meta", {}).get(SOURCES)
    with torch.no_grad():
        if sources is None:  # the unfolded copy of a model fx could not trace
            graph.load_state_dict(model.state_dict())
            return
        made = tuple(f"{target}." for target in sources)  # their weights are computed below
        state = model.state_dict()
        for key, value in graph.state_dict().items():
            if not key.startswith(made):
                value.copy_(state[key])
        modules = dict(model.named_modules())
        for target, source in sources.items():
            conv = modules[source.conv]
            weight, bias = conv.weight, conv.bias
            if source.norm is not None:
                norm = modules[source.norm]
                weight, bias = fuse_conv_bn_weights(
                    weight, bias, norm.running_mean, norm.running_var, norm.eps,
                    norm.weight, norm.bias,
                )  # fmt: skip
            weight = weight if source.channels is None else weight[:, slice(*source.channels)]
            bias = bias if source.bias else None
            part = graph.get_submodule(target)
            if source.upsampled:
                part.set_weights(weight, bias)
                continue
            part.weight.copy_(weight)
            if bias is not None and part.bias is not None:
                part.bias.copy_(bias)


def _fold_batch_norms(graph, sources: dict, sample=None) -> None:
    """Fold, in place, each BatchNorm2d with running statistics that reads the output of a
    Conv2d nothing else reads into that convolution; ``sources`` (see SOURCES) learns which.
    (`torch.fx.experimental.optimization.fuse` does the same and more, but says not which.)"""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    modules = dict(graph.named_modules())
    for node in list(graph.graph.nodes):
        norm = modules.get(node.target) if node.op == "call_module" else None
        source = node.args[0] if node.args else None
        if type(norm) is not torch.nn.BatchNorm2d or not norm.track_running_stats:
            continue
        if getattr(source, "op", None) != "call_module" or len(source.users) > 1:
            continue
        conv = modules.get(source.target)
        if type(conv) is not torch.nn.Conv2d:
            continue
        parent, _, name = source.target.rpartition(".")
        setattr(graph.get_submodule(parent), name, fuse_conv_bn_eval(conv, norm))
        node.replace_all_uses_with(source)
        graph.graph.erase_node(node)
        sources[source.target] = WeightSource(source.target, node.target, None, True)
    graph.delete_all_unused_submodules()
    graph.recompile()


def _split_concatenations(graph, sources: dict, sample) -> None:
    """Rewrite, in place, each ``conv(cat([a, b, …], dim=1))`` as ``conv_a(a) + conv_b(b) +
    …``, the convolution's weights split along its input channels (the bias goes with the
    first part; a part without channels, smp's stand-in for a skip an encoder lacks, goes).
    ``sample``: an input the graph runs on, to learn each part's channels. ``sources`` (see
    SOURCES) learns where each part's weights come from."""
    import torch
    from torch.fx.passes.shape_prop import ShapeProp

    with torch.inference_mode():
        ShapeProp(graph).propagate(sample)
    modules = dict(graph.named_modules())
    for node in list(graph.graph.nodes):
        conv = modules.get(node.target) if node.op == "call_module" else None
        parts = _concatenated(node.args[0], modules) if _plain_conv(conv) else None
        if parts is None:
            continue
        sizes = [part.meta["tensor_meta"].shape[1] for part in parts]
        conv_name, norm_name, *_ = sources.pop(node.target, (node.target, None))
        starts = [sum(sizes[:index]) for index in range(len(sizes))]
        with graph.graph.inserting_before(node):
            total = None
            for index, weight in enumerate(conv.weight.split(sizes, dim=1)):
                if not sizes[index]:
                    continue
                name = f"{node.target.replace('.', '_')}_part{index}"
                first = total is None
                graph.add_submodule(name, _conv_like(conv, weight, with_bias=first))
                channels = (starts[index], starts[index] + sizes[index])
                sources[name] = WeightSource(conv_name, norm_name, channels, first)
                out = graph.graph.call_module(name, (parts[index],))
                total = out if first else graph.graph.call_function(operator.add, (total, out))
        node.replace_all_uses_with(total)
        graph.graph.erase_node(node)
    graph.graph.eliminate_dead_code()
    graph.delete_all_unused_submodules()
    graph.recompile()


def _concatenated(node, modules):
    """The parts of the channel concatenation ``node`` is (through Identity modules, which
    smp puts where an attention could be), if nothing else reads it; else None."""
    import torch

    while (
        getattr(node, "op", None) == "call_module"
        and type(modules.get(node.target)) is torch.nn.Identity
        and len(node.users) == 1
    ):
        node = node.args[0]
    if getattr(node, "target", None) is not torch.cat or len(node.users) != 1:
        return None
    dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
    return list(node.args[0]) if dim == 1 else None


def _plain_conv(module) -> bool:
    import torch

    return (
        isinstance(module, torch.nn.Conv2d)
        and module.groups == 1
        and module.padding_mode == "zeros"
    )


def _conv_like(conv, weight, *, with_bias: bool):
    """A convolution as ``conv`` over ``weight``'s input channels, holding ``weight``."""
    import torch

    bias = with_bias and conv.bias is not None
    # skip_init: an initialisation would draw from the caller's torch random numbers
    part = torch.nn.utils.skip_init(
        torch.nn.Conv2d, weight.shape[1], conv.out_channels, conv.kernel_size, conv.stride,
        conv.padding, conv.dilation, bias=bias, device=weight.device, dtype=weight.dtype,
    )  # fmt: skip
    with torch.no_grad():
        part.weight.copy_(weight)
        if bias:
            part.bias.copy_(conv.bias)
    return part


def _sample_input(model):
    """A small input ``model`` takes: its first convolution's channels, 64² pixels (a z-stem
    reads any count of layers from its run up), random but the same every time."""
    import torch

    first = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1, first.in_channels, 64, 64, generator=generator)
    return sample.to(first.weight)  # its device and dtype
