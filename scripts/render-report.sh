#!/usr/bin/env bash
# render-report.sh: renders an `attnplan report` page in headless Chromium (Debian's
# `chromium` package), offline: a PNG screenshot and, with --dom, the DOM Chromium built
# from it (what the report test inspects). Background networking, component updates, sync
# and the first-run flow are off, and a throwaway profile is used, so nothing is fetched.
# Usage: scripts/render-report.sh REPORT.html OUT.png [--width W] [--height H] [--dom OUT.dom.html]
# Exit codes: 0 rendered, 1 Chromium failed, 2 bad usage, 77 chromium not installed.
set -euo pipefail
usage() { echo "usage: $0 REPORT.html OUT.png [--width W] [--height H] [--dom OUT.dom.html]" >&2; exit 2; }
[ $# -ge 2 ] || usage
page=$1 png=$2; shift 2
width=1000 height=2400 dom=""
while [ $# -gt 0 ]; do
  case $1 in
    --width) [ $# -ge 2 ] || usage; width=$2; shift 2 ;;
    --height) [ $# -ge 2 ] || usage; height=$2; shift 2 ;;
    --dom) [ $# -ge 2 ] || usage; dom=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $width =~ ^[0-9]+$ && $height =~ ^[0-9]+$ && $width -ge 100 && $height -ge 100 ]] || usage
[ -f "$page" ] || { echo "$0: no such file: $page" >&2; exit 2; }
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$chromium" ] || { echo "$0: chromium is not installed (apt-get install chromium)" >&2; exit 77; }

url="file://$(realpath "$page")"
profile=$(mktemp -d "${TMPDIR:-/tmp}/attn-chromium.XXXXXX")
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --disable-default-apps --disable-extensions --disable-breakpad
       --disable-dev-shm-usage --hide-scrollbars --mute-audio "--user-data-dir=$profile"
       "--window-size=$width,$height")
# Containers often have no writable HOME and a tiny /dev/shm: keep every Chromium file in the
# throwaway profile (--disable-dev-shm-usage above takes care of /dev/shm).
export HOME=$profile XDG_CONFIG_HOME=$profile XDG_CACHE_HOME=$profile
# Chromium's own chatter (D-Bus, GPU probing) goes to a log shown only on failure.
log=$profile/log
tmp_png="$png.tmp.$$.png"
if ! timeout 40 "$chromium" "${flags[@]}" "--screenshot=$tmp_png" "$url" >"$log" 2>&1 || [ ! -s "$tmp_png" ]; then
  echo "$0: chromium failed to take the screenshot:" >&2; tail -20 "$log" >&2; rm -f "$tmp_png"; exit 1
fi
mv "$tmp_png" "$png"
if [ -n "$dom" ]; then
  if ! timeout 40 "$chromium" "${flags[@]}" --dump-dom "$url" >"$dom.tmp.$$" 2>"$log" || [ ! -s "$dom.tmp.$$" ]; then
    echo "$0: chromium failed to dump the DOM:" >&2; tail -20 "$log" >&2; rm -f "$dom.tmp.$$"; exit 1
  fi
  mv "$dom.tmp.$$" "$dom"
fi
