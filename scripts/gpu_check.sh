#!/usr/bin/env bash
# Every GPU check and benchmark in one call, on a machine with an NVIDIA GPU whose python3 has
# torch, torchvision and timm. The project runs from src/; what that Python lacks comes as
# wheels in .whl/ (made here by `bash scripts/gpu_wheels.sh`). Each figure is printed as JSON
# and kept under $OUT (the device tool brings it back) or gpu_out/.
#
#   device run: bash scripts/gpu_check.sh        (carry: .whl)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu_out}
mkdir -p "$out"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src:$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
cache=/tmp/inkloop-bench-cache
status=0

step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output, go on after a failure
  local name=$1 limit=$2
  shift 2
  echo "== $name" >&2
  timeout "$limit" "$@" > "$out/$name.out" 2> "$out/$name.err" || { status=1; echo "$name failed ($?)" >&2; }
  cat "$out/$name.out"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
# one device call may run 600 s: the quality protocol first (3 seeds x 2 folds x 2 loops x 30 s
# of training), then the tests and the speed figures
step bench_quality 370 python3 benchmarks/bench_quality.py --device cuda --seconds 30
step gpu_tests 60 python3 -m pytest -q -m gpu -p no:cacheprovider -p no:xvfb tests/test_gpu.py
step bench_train 40 python3 benchmarks/bench_train.py --device cuda --cache "$cache" --skip-quality
step bench_predict 60 python3 benchmarks/bench_predict.py --device cuda --cache "$cache"
step bench_preview 30 python3 benchmarks/bench_preview.py --device cuda --seconds 10
# one dask worker per GPU on the 16 x 8192 x 8192 segment bench_predict made for its RSS figure
step bench_cluster 60 python3 benchmarks/bench_predict.py --device cuda --cache "$cache" \
  --size 8192 --parts cluster
exit $status
