#!/usr/bin/env bash
# Installs the Python packages the tests use (numpy, safetensors: the external-file test
# of the runtime), only when missing. Idempotent; tests that need them skip (exit 77)
# when they cannot be installed (no network).
set -euo pipefail
py=${PYTHON:-python3}
command -v "$py" >/dev/null || { echo "pydeps: no $py; Python-based tests will skip" >&2; exit 0; }
if "$py" -c 'import numpy, safetensors' 2>/dev/null; then exit 0; fi
echo "pydeps: installing numpy and safetensors" >&2
pipflags=(--quiet --disable-pip-version-check)
# Debian's Python refuses system-wide pip installs (PEP 668) unless told otherwise
"$py" -m pip install "${pipflags[@]}" numpy safetensors 2>/dev/null ||
  "$py" -m pip install "${pipflags[@]}" --break-system-packages numpy safetensors ||
  echo "pydeps: could not install numpy/safetensors; the Python-based tests will skip" >&2
