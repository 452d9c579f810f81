#!/usr/bin/env bash
# chromium_check.sh: the report page (written by test_report) rendered by headless Chromium.
# Checks the DOM Chromium built: every chart is an <svg> with its id and title, with bars
# (<rect>) in the numbers the page has; and the screenshot: a PNG of the requested size that
# holds far more than a blank page of the same size does (blank: ~15 kB; this page: ~500 kB;
# the check asks for 10 times the blank one, so a page that failed to draw cannot pass). Skips (77) where chromium is not installed.
# Usage: chromium_check.sh REPORT.html SCRATCH_DIR
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REPORT.html SCRATCH_DIR" >&2; exit 2; }
page=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
render=$here/../../scripts/render-report.sh
if ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "chromium is not installed: skipped (scripts/deps.sh installs it with ATTN_WITH_CHROMIUM=1)"
  exit 77
fi
[ -s "$page" ] || { echo "FAIL: no report at $page (report_html writes it)"; exit 1; }
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }

width=1000 height=3000
bash "$render" "$page" "$dir/report.png" --width $width --height $height --dom "$dir/report.dom.html" || exit 1
blank=$dir/blank.html
printf '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' >"$blank"
bash "$render" "$blank" "$dir/blank.png" --width $width --height $height || exit 1

dom=$dir/report.dom.html
for id in chart-ranked-prefill chart-ranked-tpot chart-ops-prefill chart-ops-decode chart-memory \
          chart-measured-metrics-1 chart-measured-prefill-1 chart-measured-decode-1; do
  check "grep -A1 '<svg id=\"$id\"' '$dom' | grep -q '^<title>'" "the DOM has no <svg id=\"$id\"> with a <title>"
done
rects=$(grep -o '<rect' "$dom" | wc -l)
page_rects=$(grep -o '<rect' "$page" | wc -l)
check "[ $rects -ge 60 ]" "only $rects <rect> in the DOM"
check "[ $rects -eq $page_rects ]" "the DOM has $rects <rect>, the page $page_rects"
check "! grep -qi '<script' '$dom'" "a script in the DOM"

png=$dir/report.png
sig=$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')
check "[ '$sig' = '89504e470d0a1a0a' ]" "the screenshot is not a PNG (signature $sig)"
# IHDR: width and height are the big-endian 32-bit words at offsets 16 and 20
w=$((16#$(od -An -tx1 -j16 -N4 "$png" | tr -d ' \n')))
h=$((16#$(od -An -tx1 -j20 -N4 "$png" | tr -d ' \n')))
check "[ $w -eq $width ] && [ $h -eq $height ]" "screenshot is ${w}x${h}, expected ${width}x${height}"
size=$(stat -c %s "$png") blank_size=$(stat -c %s "$dir/blank.png")
check "[ $size -gt $((10 * blank_size)) ]" "screenshot ($size bytes) is hardly more than a blank page ($blank_size bytes)"
[ $fail -eq 0 ] && echo "report_chromium: DOM has the 8 charts and $rects bars; screenshot ${w}x${h}, $size bytes (blank: $blank_size)"
exit $fail
