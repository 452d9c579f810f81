#!/usr/bin/env bash
# check_shipped.sh ATTNPLAN ROOT: every shipped model and topology file must validate
# (exit 0). The files are globbed when the test runs, so new files are covered at once.
set -u
attnplan=$1
root=$2
shopt -s nullglob
files=("$root"/models/*.yaml "$root"/models/*.json "$root"/topologies/*.yaml)
if [ ${#files[@]} -eq 0 ]; then
  echo "no files under $root/models or $root/topologies"
  exit 1
fi
"$attnplan" validate "${files[@]}"
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: attnplan validate exited $rc on the shipped files"
  exit 1
fi
echo "${#files[@]} shipped files valid"
