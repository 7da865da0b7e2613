# Shared set-up for scripts/demo.sh and scripts/test.sh: system packages and the virtualenv.
# Sourced, not run. Idempotent: a second run installs nothing new.

SYSTEM_PACKAGES=(xvfb xauth libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-xkb1
  libxkbcommon-x11-0 libxcb-cursor0 libdbus-1-3 libgl1 libegl1 libfontconfig1)

# The python3.X-venv package `python3 -m venv` needs on Debian/Ubuntu, when the .venv is still
# to be made with a system Python that lacks it (its ensurepip module comes with that package).
venv_package() {
  local python="${PYTHON:-python3}"
  [ -x .venv/bin/python ] && return 0
  command -v "$python" >/dev/null || return 0
  "$python" -c "import ensurepip" 2>/dev/null && return 0
  "$python" -c 'import sys; sys.exit(sys.base_prefix != "/usr")' || return 0
  "$python" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])'
}

ensure_system_packages() {
  local missing=()
  for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  local venv
  venv=$(venv_package)
  [ -n "$venv" ] && missing+=("$venv")
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "setup: please install these system packages: ${missing[*]}" >&2
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  local extras="$1"
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[${extras}]"
}
