#!/usr/bin/env bash
# Install napari-inkloop with Qt and open the demo: napari, the sample segment with a few example
# strokes, and the Ink Loop widget; click "Finetune & preview" and watch ink appear.
# With no display (a server, CI) it runs the same loop headless: it trains on the strokes for a
# minute, writes the prediction to demo_out/ and prints the F0.5 reached as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
ensure_system_packages
ensure_venv "qt"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/inkloop demo "$@"
fi
echo "demo: no display here; running the demo's loop headless into demo_out/" >&2
exec .venv/bin/inkloop demo --headless demo_out --overwrite "$@"  # its own outputs, run again
