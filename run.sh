#!/usr/bin/env bash
# PaperBridge setup and entry point, for a fresh Debian/Ubuntu machine with python3.
#   ./run.sh demo   set everything up, build the demo school and serve it on http://127.0.0.1:5000
#   ./run.sh test   set everything up, lint (ruff), check types (mypy) and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-}
case "$mode" in
  demo) system=(libzbar0 fonts-wqy-microhei fonts-noto-cjk fonts-noto-core fonts-hanazono fonts-dejavu-core poppler-utils espeak-ng ffmpeg) ;;
  test) system=(libzbar0 fonts-wqy-microhei fonts-noto-cjk fonts-noto-core fonts-hanazono fonts-dejavu-core poppler-utils espeak-ng ffmpeg chromium nginx openssl postgresql) ;;  # nginx: the reverse-proxy test; postgresql: the district tests
  *) echo "usage: ./run.sh demo | test" >&2; exit 64 ;;
esac
python3 -c 'import ensurepip' 2>/dev/null || system+=(python3-venv)
if [ "$mode" = test ] && ! command -v npm >/dev/null; then system+=(npm); fi  # axe-core for accessibility tests

missing=()
for pkg in "${system[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "PaperBridge needs these system packages; please run:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# The virtual environment is refreshed whenever pyproject.toml changes.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "Installing PaperBridge and its Python packages into .venv ..."
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# axe-core (npm) is served to pages by the accessibility tests.
if [ "$mode" = test ] && [ ! -f .cache/npm/node_modules/axe-core/axe.min.js ]; then
  echo "Installing axe-core for the accessibility tests ..."
  npm install --silent --no-audit --no-fund --no-save --prefix .cache/npm axe-core@4.14.1 >/dev/null
fi

shift
if [ "$mode" = demo ]; then
  exec .venv/bin/paperbridge demo "$@"
fi
echo "Lint (ruff) and types (mypy) ..."
.venv/bin/ruff check --quiet .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
