#!/usr/bin/env bash
# Wheels for scripts/gpu_check.sh: what the GPU machine's Python (3.12, x86-64, with torch,
# torchvision, timm, numpy, scipy, scikit-image, tifffile, pillow, pytest) lacks, at the
# versions this project's .venv runs. They go to .whl/ (ignored by git; carry it). Not
# imagecodecs (26 MB of the 64 MiB a device call carries): tifffile decodes the deflate layers
# of the crop and the synthetic ones without it.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
# cryptography (with cffi and pycparser): TLS between a local:N cluster's processes
packages=(segmentation-models-pytorch dask zarr numcodecs donfig google-crc32c partd locket
  distributed msgpack tornado sortedcontainers tblib zict psutil urllib3 cloudpickle toolz
  cryptography cffi pycparser platformdirs)
py=${VENV_PYTHON:-.venv/bin/python}  # its versions are the ones the test suite ran
[ -x "$py" ] || { echo "no $py: run from the checkout with the project's .venv (it pins the wheels)" >&2; exit 1; }
pins=()
for package in "${packages[@]}"; do
  version=$("$py" -m pip show "$package" 2>/dev/null | awk '/^Version:/ {print $2}' || true)
  [ -n "$version" ] || { echo "$package is not in $py's environment: nothing to pin it to" >&2; exit 1; }
  pins+=("$package==$version")
done
platforms=()
for n in 17 24 27 28 31 34; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" --platform manylinux2014_x86_64 -d .whl "${pins[@]}"
ls .whl
