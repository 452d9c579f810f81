#!/usr/bin/env bash
# Installs the Debian packages attnplan needs, only those missing. Idempotent.
set -euo pipefail
pkgs=(cmake make gcc g++ pkg-config libyaml-dev libglpk-dev openmpi-bin libopenmpi-dev libopenblas-dev
      clang libclang-rt-14-dev)
[ "${ATTN_WITH_CHROMIUM:-0}" = 1 ] && pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
