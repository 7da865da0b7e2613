#!/usr/bin/env bash
# Every GPU check and benchmark in one call, on a machine with an NVIDIA GPU whose python3 has
# torch, torchvision and timm. The project runs from src/; what that Python lacks comes as
# wheels in .whl/ (made here by `bash scripts/gpu_wheels.sh`), the real dev crop in .real_dev/,
# a copy of the folder holding it (`rm -rf .real_dev && cp -r ../shared/real_dev .real_dev`;
# both ignored by git). Each figure is printed as JSON and kept in four files under $OUT (the
# device tool brings back 8 at most): parts.out (every part's JSON under "== name (exit rc)"),
# parts.err (their stderr as it came: bench_quality's runs, stalls, tracebacks), gpu.txt and
# the caller's log.txt; or under gpu_out/.
#
#   device run: set -o pipefail; OUT=$OUT bash scripts/gpu_check.sh 2>&1 | tee $OUT/log.txt
#               (carry: .whl .real_dev; timeout_s 600: the budget here is 580 s)
#   a second call, prediction:        PARTS=predict bash …
#   with the dask cluster part:       PARTS=predict PREDICT_PARTS="speed cluster" bash …
#   dry run here, on the CPU, small:  DEVICE=cpu QUICK=1 PARTS=all bash scripts/gpu_check.sh
#
# The parts (PARTS: a list, or all) run in the order below, which is their order of
# importance, each with a time limit, inside one overall budget (SECONDS_BUDGET, under the
# device call's 600 s). They do not all fit in one call. The default, "tests quality train
# candidate", is the defaults' figures first (not measured on a GPU since the defaults became
# four encoder stages and an output at 1/4 on 2026-12-05): the tests (~1 min on an H200), the
# 30 s protocol (~5 min) and the pipeline (~2 min), estimates from the calls of 2026-12-04;
# the candidate then gets what is left (a minute or so: one or two of its runs). predict
# needs a call of its own (its limits: 350 s). A part
# cut by the overall budget, or left no time, is reported and does not fail the run; one
# that fails or overruns its own limit does (exit 1).
#   tests          the gpu-marked tests
#   quality        the real-crop protocol at 30 s, three seeds, with the defaults (on CUDA:
#                  batches of 32: 0.462 and 0.576 on an H200 with five stages and the full
#                  decoder, docs/quality.md)
#   train          the training pipeline against its step ceiling at the default batch, its
#                  batches made by worker processes (the default on a GPU) and by one thread;
#                  then in batches of 8, then from CUDA graphs; for the default and the
#                  graphs also each stage's host milliseconds a step and the step's waits for
#                  the GPU, by line (bench_train --stages)
#   candidate      the 30 s protocol with CANDIDATE added, the training options that might
#                  become the GPU's defaults next (default: the z-stem with the middle 9
#                  layers, which raised both 300 s medians on the Zen 4 CPU at full
#                  resolution and costs a GPU little, but on top of the output at 1/4 lost
#                  three pairs of four there; CUDA graphs, the one before, scored as the
#                  defaults do at 30 s)
#   predict        whole-segment prediction of a 16 x 8192² segment in-process (and on dask
#                  with PREDICT_PARTS="speed cluster"), then where its time goes
#                  (bench_predict's stages)
# bench_quality prints each run to parts.err as it ends, so a run the budget cuts keeps them.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_out}
device=${DEVICE:-cuda}
budget=${SECONDS_BUDGET:-580}
parts=" ${PARTS:-tests quality train candidate} "
[ "$parts" = " all " ] && parts=" tests quality train candidate predict "
candidate=${CANDIDATE:---z-stem 8 --z-count 9}
[ "$device" = cuda ] || candidate=${candidate//--cuda-graphs/}  # graphs need CUDA
mkdir -p "$out"
work=$(mktemp -d)  # each part's stdout until it ends
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
# bench_quality reads the crop from ../shared/real_dev, which does not travel to the device
if [ -d .real_dev ] && [ ! -e ../shared/real_dev ]; then
  mkdir -p ../shared && ln -s "$PWD/.real_dev" ../shared/real_dev
fi
export PYTHONPATH="$PWD/src:$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
cache=/tmp/inkloop-bench-cache
status=0
if [ -n "${QUICK:-}" ]; then  # the dry run: every step, on small data and short budgets
  size=1024 quality=(--seconds 5 --seeds 0) steps=3
  workers=(--loader-workers 1)  # what a GPU's default is, where the CPU's is a thread
else
  size=8192 quality=(--seconds 30 --seeds 0 1 2) steps=20 workers=()
fi
wanted() { [[ $parts == *" $1 "* ]]; }

step() {  # step NAME SECONDS COMMAND...: run with a time limit (and inside the budget), keep its output
  # in two files under $out for all parts (the device tool brings back 8 files at most)
  local name=$1 limit=$2 left=$((budget - SECONDS)) cut="" from
  shift 2
  [ "$left" -lt "$limit" ] && limit=$left cut=1
  if [ "$limit" -lt 10 ]; then echo "== $name: no time left in the budget" >&2; return; fi
  echo "== $name (up to ${limit} s, at ${SECONDS} s)" >&2
  echo "== $name (at ${SECONDS} s)" >> "$out/parts.err"
  from=$(stat -c %s "$out/parts.err")
  timeout "$limit" "$@" > "$work/$name.out" 2>> "$out/parts.err"
  local rc=$?
  if [ "$rc" -eq 124 ] && [ -n "$cut" ]; then
    echo "$name: cut by the budget at ${SECONDS} s (what it finished is in $out/parts.err)" >&2
  elif [ "$rc" -ne 0 ]; then
    status=1
    echo "$name failed (exit $rc$([ "$rc" -eq 124 ] && echo ', out of time'))" >&2
    tail -c "+$((from + 1))" "$out/parts.err" | tail -n 20 >&2
  fi
  { echo "== $name (exit $rc)"; cat "$work/$name.out"; } >> "$out/parts.out"
  cat "$work/$name.out"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import sys, torch, segmentation_models_pytorch, dask, zarr, distributed, cryptography, inkloop
print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())
sys.exit('$device' == 'cuda' and not torch.cuda.is_available())" || { echo "stopping: the imports failed or torch sees no CUDA GPU" >&2; exit 1; }
crop=../shared/real_dev/20231005123335_2-4_top
if { wanted quality || wanted candidate; } && [ ! -d "$crop/layers" ]; then
  echo "stopping: no real crop at $crop (.real_dev must be a copy of /work/shared/real_dev, the folder holding 20231005123335_2-4_top)" >&2
  exit 1
fi
# the big segment bench_predict reads, written on one of the cores while the GPU parts run
if wanted predict; then
  python3 -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path
from bench_predict import _segment; _segment(Path('$cache'), $size)" 2>> "$out/parts.err" &
  writing=$!
fi
# pyproject's warning filters name napari's and pydantic's classes, absent here: only ours stay
wanted tests && step gpu_tests 180 python3 -m pytest -q -m gpu -p no:cacheprovider -p no:xvfb \
  -o "filterwarnings=error::pytest.PytestUnraisableExceptionWarning" -o faulthandler_timeout=130 \
  tests/test_gpu.py
# the dev protocol at 30 s of GPU training; inkloop's runs only (the peer's figures do not
# change with inkloop's defaults, and the device call has no room for both)
wanted quality && step bench_quality 450 python3 benchmarks/bench_quality.py \
  --device "$device" --loops inkloop --no-synthetic --cache "$cache" "${quality[@]}"
if wanted train; then
  step bench_train 60 python3 benchmarks/bench_train.py --device "$device" --cache "$cache" \
    --skip-quality --steps "$steps" --stages "${workers[@]}"
  step bench_train_threads 60 python3 benchmarks/bench_train.py --device "$device" \
    --cache "$cache" --skip-quality --steps "$steps" --loader-workers 0
  # and in batches of 8, the CPU's (the pipeline's share of its ceiling was 0.87 there)
  step bench_train_batch8 60 python3 benchmarks/bench_train.py --device "$device" \
    --cache "$cache" --skip-quality --steps "$steps" --batch-size 8 "${workers[@]}"
  [ "$device" = cuda ] && step bench_train_graphs 60 python3 benchmarks/bench_train.py \
    --device "$device" --cache "$cache" --skip-quality --steps "$steps" --stages --cuda-graphs \
    "${workers[@]}"
fi
if wanted candidate && [ -n "${candidate// /}" ]; then
  step bench_quality_candidate 450 python3 benchmarks/bench_quality.py --device "$device" \
    --loops inkloop --no-synthetic --cache "$cache" "${quality[@]}" --train-options="$candidate"
elif wanted candidate; then
  echo "== bench_quality_candidate: no candidate options on $device" >&2
fi
# whole-segment prediction in-process (with the forward ceiling); with the cluster part also
# one dask worker per GPU (local:1) and two sharing it (local:2)
if wanted predict; then
  wait "$writing" || { status=1; echo "writing the segment failed" >&2; tail -n 5 "$out/parts.err" >&2; }
  # shellcheck disable=SC2086  # PREDICT_PARTS: bench_predict's parts, one word each
  step bench_predict 200 python3 benchmarks/bench_predict.py --device "$device" \
    --cache "$cache" --size "$size" --parts ${PREDICT_PARTS:-speed}
  # where the speed part's time goes (its own call: a cut here keeps the figures above)
  step bench_predict_stages 150 python3 benchmarks/bench_predict.py --device "$device" \
    --cache "$cache" --size "$size" --parts stages
fi
exit $status
