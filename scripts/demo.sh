#!/usr/bin/env bash
# Install napari-inkloop with Qt and open the demo: napari, the sample segment, the Ink Loop widget.
# With no display (a server, CI), it runs under Xvfb and saves a screenshot to docs/demo.png.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh
ensure_system_packages
ensure_venv "all"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/inkloop demo "$@"
fi
echo "demo: no display here; rendering the demo under Xvfb to docs/demo.png" >&2
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/inkloop demo --screenshot docs/demo.png "$@"
