#!/usr/bin/env bash
# check_validate_cli.sh ATTNPLAN ROOT: the command line of `attnplan validate`: --help,
# usage errors, unreadable paths, and a mix of good and bad files (each reported,
# exit 2 overall). Exit 0 when every case behaves, 1 otherwise.
set -u
attnplan=$1
root=$2
fail=0
# expect RC NEEDLE_IN_OUTPUT ARGS...
expect() {
  local want_rc=$1 needle=$2
  shift 2
  local out rc
  out=$("$attnplan" validate "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -q -F -- "$needle" <<<"$out"; then
    echo "FAIL validate $*: exit $rc (want $want_rc), output: $out (want '$needle')"
    fail=1
  fi
}
expect 0 "usage: attnplan validate FILE..." --help
expect 2 "no files given"
expect 2 "unknown option '--bogus'" --bogus "$root/models/tiny.yaml"
expect 2 "/nonexistent/x.yaml: error: cannot open: No such file or directory" /nonexistent/x.yaml
expect 2 "$root/models: error: is a directory" "$root/models"
expect 2 "ok (model tiny:" "$root/models/tiny.yaml" "$root/tests/lib/bad/heads_kv.yaml"
expect 2 "heads_kv.yaml:5:11: error:" "$root/models/tiny.yaml" "$root/tests/lib/bad/heads_kv.yaml"
expect 0 "ok (topology cpu-local:" -- "$root/topologies/cpu-local.yaml"
expect 0 "ok (model meta-llama/Meta-Llama-3-8B:" "$root/models/llama-3-8b.config.json"
# Plans and measured reports written by attnplan/attnrun (the fuzz seeds) go through
# plan_load + plan_check and report_load_measured.
expect 0 "ok (plan: model tiny-llama on cpu-local, dp=1,pp=1,n=2,m=4,scheme=head-alltoall" \
  "$root/tests/fuzz/seeds/plan-tiny-llama-m4.yaml"
expect 0 "ok (measured report: 2 ranks" "$root/tests/fuzz/seeds/measured-tiny-llama.yaml"
exit $fail
