#!/usr/bin/env bash
# link_cycles.sh LIB.a...: no two object files of a static library call each other, nor
# any longer cycle. Object A calls object B when one of A's undefined symbols (nm -u) is
# defined in B (nm --defined-only); the script lists every call and fails on any cycle
# (issue 12: dependencies between source files point one way).
set -uo pipefail
NM=${NM:-nm}
fail=0
for lib in "$@"; do
  "$NM" -A -u "$lib" >/tmp/link_cycles.$$.u 2>/dev/null || { echo "FAIL: nm -u $lib"; exit 1; }
  "$NM" -A --defined-only -g "$lib" >/tmp/link_cycles.$$.d 2>/dev/null || { echo "FAIL: nm $lib"; exit 1; }
  awk '
    # nm -A lines: "LIB:OBJ:[ADDR] TYPE SYMBOL"
    function obj(line,   p) { split(line, p, ":"); return p[2] }
    FNR == 1 { file++ }
    file == 1 { def[$NF] = obj($0); objs[obj($0)] = 1; next }
    { o = obj($0); objs[o] = 1; if (($NF in def) && def[$NF] != o) edge[o, def[$NF]] = 1 }
    function visit(v,   w) {
      state[v] = 1; stack[++depth] = v
      for (w in objs)
        if ((v, w) in edge) {
          if (state[w] == 1) { cycle(w); bad = 1 }
          else if (!state[w]) visit(w)
        }
      state[v] = 2; depth--
    }
    function cycle(w,   i, s) {
      for (i = depth; i >= 1 && stack[i] != w; i--) ;
      s = ""; for (; i <= depth; i++) s = s stack[i] " -> "
      print "FAIL: cycle: " s w
    }
    END {
      for (v in objs) { line = ""; for (w in objs) if ((v, w) in edge) line = line " " w; print v " ->" line }
      for (v in objs) if (!state[v]) visit(v)
      exit bad
    }' /tmp/link_cycles.$$.d /tmp/link_cycles.$$.u | sort || fail=1
  rm -f /tmp/link_cycles.$$.u /tmp/link_cycles.$$.d
  [ $fail -eq 0 ] && echo "link_cycles: $(basename "$lib"): no cycle"
done
exit $fail
