"""The CUDA paths: training steps under bf16/fp16 autocast (fp16 with a GradScaler, as a T4 or
V100 trains, forced on any GPU) and channels_last, from CUDA graphs, how often a step waits
for the GPU, out-of-memory halving (of a training batch, of the tiles a prediction's pass
takes), prediction (blocks on streams of their own too), and the engine's preview while
training. Run by scripts/gpu_check.sh on a machine with an NVIDIA GPU; skipped elsewhere."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from inkloop.compose import sample_normalisation
from inkloop.engine import PredictionReady
from inkloop.io import open_segment
from inkloop.model import build_model, cuda_has_bf16
from inkloop.predict import Predictor, inference_graph, predict_segment
from inkloop.settings import CUDA_BATCH
from inkloop.train import LabelStore, ProcessBatchStream, Trainer, augment_batch
from tests._engine import WHOLE, engine_for, preview_while_training
from tests._events import Recorder
from tests._helpers import FULL_RESOLUTION, tiny_model, tiny_training

SYNCHRONISING = "called a synchronizing CUDA operation"  # torch's sync debug mode, "warn"

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def _trainer(segment, z_stem=0, **training) -> Trainer:
    labels = LabelStore(np.asarray(segment.ink_labels), np.asarray(segment.mask))
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    normalisation = sample_normalisation(segment, composition)
    config = tiny_training(device="cuda", **training)
    model = dataclasses.replace(tiny_model(), z_stem=z_stem)
    return Trainer(segment, labels, composition, normalisation, config, model_config=model)


@pytest.mark.parametrize("z_stem", [0, 8], ids=["unet", "z-stem"])
def test_training_steps_on_the_gpu_in_mixed_precision_and_channels_last(segment, z_stem):
    trainer = _trainer(segment, z_stem, amp=True)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    results = [trainer.step() for _ in range(5)]
    trainer.close()

    assert trainer.device.type == "cuda"
    assert all(np.isfinite(r.loss) for r in results)
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_cuda
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    # inkloop's own test: torch's is_bf16_supported() says yes for a T4's emulated bf16 too
    assert trainer.precision == ("bfloat16" if cuda_has_bf16(trainer.device) else "float16")


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_eager_steps_in_mixed_precision_train_with_finite_losses(segment, monkeypatch, precision):
    """The path a GPU trains on by default (eager autocast, batches of 32), in bf16, and in
    fp16 with a GradScaler and fused AdamW as on a GPU without native bf16 (T4, V100)."""
    if precision == "bfloat16" and not cuda_has_bf16(torch.device("cuda")):
        pytest.skip("this GPU has no native bf16: it trains in float16")
    if precision == "float16":  # any GPU trains as a T4 does
        monkeypatch.setattr("inkloop.model.cuda_has_bf16", lambda device: False)
    trainer = _trainer(segment, amp=True, batch_size=None)
    assert trainer.precision == precision
    assert trainer.scaler.is_enabled() == (precision == "float16")
    assert trainer._graphed is None
    before = [p.detach().clone() for p in trainer.model.parameters()]
    results = [trainer.step() for _ in range(8)]  # fp16: the first may overflow and be skipped
    trainer.close()
    assert all(r.batch_size == CUDA_BATCH and np.isfinite(r.loss) for r in results)
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_an_unset_batch_size_is_the_gpus(segment):
    trainer = _trainer(segment, batch_size=None)
    result = trainer.step()
    trainer.close()
    assert result.batch_size == CUDA_BATCH


def test_batches_from_worker_processes_train_on_the_gpu(segment):
    trainer = _trainer(segment, loader_workers=2)
    results = [trainer.step() for _ in range(5)]
    assert isinstance(trainer.batches(), ProcessBatchStream)
    trainer.close()
    assert all(np.isfinite(r.loss) and r.notice is None for r in results)


def test_a_batch_reaches_the_gpu_and_is_augmented_without_waiting_for_it(segment):
    trainer = _trainer(segment, batch_size=32)
    batch = trainer.batches().next()
    trainer.close()
    rng = np.random.default_rng(0)
    torch.cuda.set_sync_debug_mode("error")  # any wait for the GPU raises
    try:
        for _ in range(3):  # 32 samples: some are blurred, some noisy, some with holes
            tensors = trainer.to_device(batch)
            config = trainer.config.augment
            inputs, ink, weight = augment_batch(*tensors, trainer.composition, config, rng)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert inputs.is_cuda
    assert inputs.shape[0] == ink.shape[0] == weight.shape[0] == 32


def test_a_training_step_waits_for_the_gpu_once(segment):
    trainer = _trainer(segment, batch_size=32, loader_workers=0)
    trainer.step()  # the first measures the calibration, which reads logits back
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for _ in range(3):
                trainer.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    trainer.close()
    waits = [f"{w.filename}:{w.lineno}" for w in caught if SYNCHRONISING in str(w.message)]
    assert len(waits) == 3, waits  # reading the loss, once a step


def _recordings(monkeypatch) -> list:
    """The input shapes CUDA graphs get recorded for, from here on."""
    from inkloop.train._graphs import GraphedForward

    shapes, record = [], GraphedForward._record

    def counted(self, inputs):
        shapes.append(tuple(inputs.shape))
        record(self, inputs)

    monkeypatch.setattr(GraphedForward, "_record", counted)
    return shapes


def test_steps_from_cuda_graphs_train_as_the_steps_without_them(segment, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    recorded = _recordings(monkeypatch)
    runs = {}
    for graphs in (False, True):  # float32, the same seed: the same batches and weights
        trainer = _trainer(segment, cuda_graphs=graphs)
        losses = [trainer.step().loss for _ in range(6)]
        trainer.close()
        state = {**trainer.model.state_dict(), **trainer.inference_model.state_dict()}
        runs[graphs] = losses, {key: value.clone() for key, value in state.items()}
    assert len(recorded) == 1  # once, for the batch's shape; replayed since
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-3)
    for key, eager in runs[False][1].items():  # weights, BatchNorm statistics, their average
        torch.testing.assert_close(runs[True][1][key], eager, rtol=1e-3, atol=1e-4)


def test_steps_from_cuda_graphs_in_mixed_precision_with_a_z_stem(segment, monkeypatch):
    recorded = _recordings(monkeypatch)
    trainer = _trainer(segment, z_stem=8, cuda_graphs=True, amp=True)
    results = [trainer.step() for _ in range(5)]
    trainer.close()
    assert all(np.isfinite(r.loss) for r in results)
    assert recorded == [recorded[0]]


@pytest.mark.parametrize("graphs", [False, True], ids=["eager", "cuda graphs"])
def test_out_of_gpu_memory_halves_the_batch_and_training_goes_on(segment, graphs):
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(0.01)  # ~1.4 GB of an H200: a real OOM
    try:
        trainer = _trainer(segment, patch_size=96, batch_size=4096, cuda_graphs=graphs)
        result = trainer.step()
        trainer.close()
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert result.batch_size < 4096
    assert "batch size halved" in result.notice
    assert np.isfinite(result.loss)
    if graphs:  # recorded again for the batch that fits
        assert trainer._graphed.shape[0] == result.batch_size


def test_prediction_on_the_gpu_matches_the_cpu(segment):
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    config = dataclasses.replace(tiny_model(), in_channels=composition.in_channels)
    torch.manual_seed(0)
    model = build_model(config).eval()
    normalisation = sample_normalisation(segment, composition)
    mask = np.asarray(segment.mask)
    on_cpu = Predictor(model, composition, normalisation, tile=64, overlap=32)
    expected = on_cpu.predict_region(segment, WHOLE, mask)
    on_gpu = Predictor(model.cuda(), composition, normalisation, tile=64, overlap=32)

    probability = on_gpu.predict_region(segment, WHOLE, mask)

    assert on_gpu.batch_size == 8
    np.testing.assert_allclose(probability, expected, atol=0.02)  # bf16 autocast
    folded = Predictor(inference_graph(model).cuda(), composition, normalisation, tile=64)
    np.testing.assert_allclose(folded.predict_region(segment, WHOLE, mask), expected, atol=0.02)


def test_prediction_out_of_gpu_memory_takes_fewer_tiles_a_pass(tmp_path):
    from inkloop.synthetic import write_segment

    segment = open_segment(write_segment(tmp_path / "seg", 1024, 1024, 8, seed=3))
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    config = dataclasses.replace(tiny_model(), in_channels=composition.in_channels)
    torch.manual_seed(0)
    model = build_model(config).eval().cuda()
    normalisation = sample_normalisation(segment, composition)

    def predictor(batch_size):
        return Predictor(model, composition, normalisation, tile=512, batch_size=batch_size)

    one = predictor(1)  # what one tile's pass takes, then room for about three
    expected = one.predict_region(segment, (0, 0, 1024, 1024))  # 9 tiles
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_reserved()  # what the cap below counts: the allocator's blocks
    one.tiles(segment, [(0, 0)])
    room = base + 3 * (torch.cuda.max_memory_reserved() - base)
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(room / total)
    many = predictor(8)
    try:
        with pytest.warns(RuntimeWarning, match="out of GPU memory: predicting"):
            probability = many.predict_region(segment, (0, 0, 1024, 1024))
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert 1 <= many.memory.tiles < 8
    np.testing.assert_allclose(probability, expected, atol=0.01)  # bf16, other batch sizes


def test_blocks_predicted_in_threads_on_streams_of_their_own_match_the_region(segment):
    composition = FULL_RESOLUTION.resolve(segment.shape[0])
    config = dataclasses.replace(tiny_model(), in_channels=composition.in_channels)
    torch.manual_seed(0)
    model = build_model(config).eval().cuda()
    normalisation = sample_normalisation(segment, composition)
    mask = np.asarray(segment.mask)
    predictor = Predictor(model, composition, normalisation, tile=64, overlap=32)
    expected = predictor.predict_region(segment, WHOLE, mask)

    blocks = predict_segment(predictor, segment, mask, block=64)
    probability = blocks.compute(scheduler="threads", num_workers=4)

    assert blocks.numblocks == (2, 2)
    np.testing.assert_allclose(probability, expected, atol=0.01)  # batches of other sizes


@pytest.mark.parametrize("graphs", [False, True], ids=["eager", "cuda graphs"])
def test_the_engine_previews_while_it_trains_on_the_gpu(segment, graphs):
    recorder = Recorder()
    train = tiny_training(device="cuda", cuda_graphs=graphs)
    with engine_for(segment, recorder, tile=64, train=train) as engine:
        preview_while_training(engine, recorder, rounds=2)
    assert str(engine.trainer.device).startswith("cuda")
    assert recorder.of(PredictionReady)
    assert (engine.trainer._graphed is not None) == graphs
