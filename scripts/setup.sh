#!/usr/bin/env bash
# Set up everything dgm4plus needs, idempotently: Debian's tesseract-ocr, a virtual environment
# in .venv with the pinned requirements, facenet-pytorch (installed --no-deps: its own pins are
# too old for this Python, and it runs fine on the versions pinned here), and the `dgm4plus`
# command (editable install). A second run with unchanged requirements takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

# Debian packages: tesseract-ocr (OCR scrub) and chromium (the review page's browser tests).
apt_missing=()
command -v tesseract >/dev/null 2>&1 || apt_missing+=(tesseract-ocr)
[ -x /usr/bin/chromium ] || apt_missing+=(chromium)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's ${apt_missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  else
    echo "setup: missing ${apt_missing[*]}. Install, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${apt_missing[*]}     (Debian/Ubuntu)" >&2
    echo "  (macOS: brew install tesseract; the browser tests need Chromium at /usr/bin/chromium)" >&2
    exit 1
  fi
fi

stamp=.venv/.dgm4plus-setup
want="$(cat requirements.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c 'import generator, facenet_pytorch' 2>/dev/null; then
  exit 0
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
echo "setup: installing pinned requirements into .venv (torch is large: a few minutes the first time)"
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps facenet-pytorch==2.6.0
.venv/bin/python -m pip install -q --no-deps --no-build-isolation --config-settings editable_mode=compat -e . 2>/dev/null
.venv/bin/python -c 'import facenet_pytorch, torch, datasets, openai, pytesseract, generator' \
  || { echo "setup: the environment does not import cleanly" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup: ready (.venv, tesseract $(tesseract --version 2>&1 | head -n1 | cut -d' ' -f2))"
