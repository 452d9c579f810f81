#!/usr/bin/env bash
# usage: check_cycles.sh BUILD_DIR
#
# Lists link-level cycles between source files and fails (exit 1) on any. "A calls B" when
# an undefined symbol of A's object (nm -u) is a global text or data symbol that B's object
# defines. A cycle is a strongly connected component of that graph with two or more files
# (A -> B -> ... -> A), not only a pair. Source files should depend one way: a helper that
# two files share lives in a third.
#
# The objects are discovered, not listed: every CMake target's object folder
# (<dir>/CMakeFiles/<target>.dir) under BUILD_DIR except those of the tests, so libraries
# and programs added, renamed or moved later are checked without editing this file.
# Objects left over from renamed sources or targets are skipped (below). An object's
# source file is read off its path in the build tree, which mirrors the
# source tree: planner/CMakeFiles/attnplanner.dir/search/x.c.o -> planner/search/x.c
# (CMake writes a ../ of the source path as __/).
#
# Weak and COMDAT definitions (nm types W, V: C++ template instances, the unwinder's
# personality reference) are not edges. A symbol defined in more than one source file
# (main of each program) points to its definition in the caller's own target when there
# is one, else to every definition.
set -euo pipefail
export LC_ALL=C
build=${1:?usage: check_cycles.sh BUILD_DIR}
command -v nm >/dev/null || { echo "check_cycles: no nm (binutils); skipped"; exit 77; }
cd "$build"

list=$(mktemp); current=$(mktemp)
trap 'rm -f "$list" "$current"' EXIT
# A build folder keeps the objects of sources and targets that were renamed or removed
# since (CMake deletes none): read the current ones off CMake's own lists where they exist,
# CMakeFiles/TargetDirectories.txt (the targets) and each target's DependInfo.cmake (its
# objects, Makefile generators); a target without one keeps all of its objects.
abs=$(sed -n 's/^CMAKE_CACHEFILE_DIR:INTERNAL=//p' CMakeCache.txt 2>/dev/null || true)
[ -n "$abs" ] || abs=$(pwd -P)
if [ -f CMakeFiles/TargetDirectories.txt ]; then
  while IFS= read -r d; do
    d=${d#"$abs"/}
    [ -d "$d" ] || continue
    if [ -f "$d/DependInfo.cmake" ] && grep -q '\.o"' "$d/DependInfo.cmake"; then
      grep -o '"[^"]*\.o"' "$d/DependInfo.cmake" | tr -d '"' | sed "s|^$abs/||"
    else
      find "$d" -type f -name '*.o'
    fi
  done < CMakeFiles/TargetDirectories.txt | sort -u > "$current"
fi
# one line per object: target-id source-path object-path (sorted: stable output)
find . -path ./tests -prune -o -type f -name '*.o' -path '*/CMakeFiles/*.dir/*' -print |
  sed 's|^\./||' | sort |
  { if [ -s "$current" ]; then grep -Fx -f "$current" || true; else cat; fi; } |
  awk '{
    obj = $0
    i = index(obj, "/CMakeFiles/")
    if (substr(obj, 1, 11) == "CMakeFiles/") { dir = ""; rest = substr(obj, 12) }
    else { dir = substr(obj, 1, i - 1); rest = substr(obj, i + 12) }
    j = index(rest, ".dir/")
    target = dir "/" substr(rest, 1, j - 1)
    src = substr(rest, j + 5)
    sub(/\.o$/, "", src); sub(/\.obj$/, "", src)
    gsub(/__\//, "../", src)
    path = (dir == "" ? "" : dir "/") src
    # normalize a/b/../c -> a/c
    n = split(path, part, "/"); k = 0
    for (p = 1; p <= n; p++) {
      if (part[p] == "..") { if (k > 0) k--; continue }
      if (part[p] == "." || part[p] == "") continue
      out[++k] = part[p]
    }
    path = out[1]; for (p = 2; p <= k; p++) path = path "/" out[p]
    print target, path, obj
  }' > "$list"

if [ ! -s "$list" ]; then
  echo "check_cycles: no object files under $build/*/CMakeFiles/*.dir (not built?)" >&2
  exit 2
fi
nobj=$(wc -l < "$list")

# nm records: "D target src symbol" (global definition), "U target src symbol" (reference)
while read -r target src obj; do
  nm -P --defined-only "$obj" | awk -v t="$target" -v s="$src" '$2 ~ /^[TDBRGSC]$/ { print "D", t, s, $1 }'
  nm -P -u "$obj" | awk -v t="$target" -v s="$src" '{ print "U", t, s, $1 }'
done < "$list" |
awk -v nobj="$nobj" '
  $1 == "D" { key = $4; if (!((key, $3) in defd)) { defd[key, $3] = 1; ndef[key]++; def[key, ndef[key]] = $3; deft[key, ndef[key]] = $2 } ; node($3); next }
  $1 == "U" { nref++; rt[nref] = $2; rs[nref] = $3; rsym[nref] = $4; node($3); next }
  function node(s) { if (!(s in id)) { id[s] = ++n; name[n] = s } }
  END {
    # edges, each with the symbols that make it
    for (r = 1; r <= nref; r++) {
      sym = rsym[r]; if (!(sym in ndef)) continue
      a = id[rs[r]]
      local = 0
      for (d = 1; d <= ndef[sym]; d++) if (deft[sym, d] == rt[r]) local = 1
      for (d = 1; d <= ndef[sym]; d++) {
        if (local && deft[sym, d] != rt[r]) continue
        b = id[def[sym, d]]
        if (a == b) continue
        if (!((a, b) in edge)) { edge[a, b] = 1; nout[a]++; out[a, nout[a]] = b; why[a, b] = sym }
        else if (index(" " why[a, b] " ", " " sym " ") == 0) why[a, b] = why[a, b] " " sym
      }
    }
    # reachability from every file (breadth first); a, b in one component when each
    # reaches the other
    for (s = 1; s <= n; s++) {
      delete seen; head = 1; tail = 0
      q[++tail] = s; seen[s] = 1
      while (head <= tail) {
        u = q[head++]
        for (e = 1; e <= nout[u]; e++) { v = out[u, e]; if (!(v in seen)) { seen[v] = 1; q[++tail] = v } }
      }
      for (v in seen) reach[s, v] = 1
    }
    ncyc = 0
    for (s = 1; s <= n; s++) {
      if (s in comp) continue
      m = 0
      for (v = 1; v <= n; v++) if (((s, v) in reach) && ((v, s) in reach)) { comp[v] = s; mem[++m] = v }
      if (m < 2) continue
      ncyc++
      # one concrete cycle through the component s first file: shortest path back to it
      delete par; delete seen; head = 1; tail = 0; q[++tail] = s; seen[s] = 1; last = 0
      while (head <= tail && !last) {
        u = q[head++]
        for (e = 1; e <= nout[u]; e++) {
          v = out[u, e]; if (!((s, v) in reach) || !((v, s) in reach)) continue
          if (v == s) { last = u; break }
          if (!(v in seen)) { seen[v] = 1; par[v] = u; q[++tail] = v }
        }
      }
      path = name[s]; k = 0
      for (u = last; u != s; u = par[u]) stack[++k] = u
      for (; k >= 1; k--) path = path " -> " name[stack[k]]
      path = path " -> " name[s]
      printf "cycle %d (%d files): %s\n", ncyc, m, path
      for (i = 1; i <= m; i++) for (j = 1; j <= m; j++)
        if ((mem[i], mem[j]) in edge) printf "  %s -> %s: %s\n", name[mem[i]], name[mem[j]], why[mem[i], mem[j]]
    }
    nedge = 0; for (k2 in edge) nedge++
    if (ncyc) { printf "check_cycles: %d cycle(s) between source files (%d files, %d objects, %d calls between files)\n", ncyc, n, nobj, nedge; exit 1 }
    printf "check_cycles: no cycles between source files (%d files, %d objects, %d calls between files)\n", n, nobj, nedge
  }'
