#!/usr/bin/env bash
# check_bad_corpus.sh ATTNPLAN DIR: runs `attnplan validate` on every file listed in
# DIR/expected.txt ("FILE LINE:COL TEXT") and requires exit code 2 and a stderr line
# "FILE:LINE:COL: error: ...TEXT...". Every file in DIR must be listed, so a corpus
# file cannot silently go unchecked. Exit 0 when all pass, 1 otherwise.
set -u
attnplan=$1
dir=$2
cd "$dir" || exit 1
fail=0 checked=0
declare -A listed
while IFS= read -r line; do
  case $line in ''|'#'*) continue ;; esac
  file=${line%% *}
  rest=${line#* }
  pos=${rest%% *}
  text=${rest#* }
  listed[$file]=1
  checked=$((checked + 1))
  err=$("$attnplan" validate "$file" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 2 ]; then
    echo "FAIL $file: exit code $rc, expected 2; stderr: $err"
    fail=1
    continue
  fi
  if ! grep -F -- "$file:$pos: error: " <<<"$err" | grep -q -F -- "$text"; then
    echo "FAIL $file: expected '$file:$pos: error: ...$text...', got: $err"
    fail=1
  fi
done < expected.txt
for f in *; do
  [ "$f" = expected.txt ] && continue
  if [ -z "${listed[$f]:-}" ]; then
    echo "FAIL $f is in the corpus but not in expected.txt"
    fail=1
  fi
done
echo "$checked bad files checked"
exit $fail
