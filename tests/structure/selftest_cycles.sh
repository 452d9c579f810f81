#!/usr/bin/env bash
# usage: selftest_cycles.sh CHECK_CYCLES_SH CC SCRATCH_DIR
#
# Proves check_cycles.sh can fail once the tree has no cycles left: a fake build tree
# with a three-file cycle (a -> b -> c -> a, no pair calls each other), a two-file cycle
# in another target, a one-way chain, a program's main in two targets, and test objects
# and stale objects (of a removed source or target) that it must skip. The checker must report exactly the two cycles, then pass once they
# are broken.
set -euo pipefail
check=$(realpath "${1:?usage: selftest_cycles.sh CHECK_CYCLES_SH CC SCRATCH_DIR}")
cc=${2:?}
scratch=${3:?}
rm -rf "$scratch"
mkdir -p "$scratch/src" "$scratch/build/one/CMakeFiles/libone.dir/sub" \
         "$scratch/build/one/CMakeFiles/prog.dir" "$scratch/build/two/CMakeFiles/libtwo.dir/__/one" \
         "$scratch/build/tests/CMakeFiles/test_x.dir"
cd "$scratch/src"
obj() { # obj OUT SOURCE_TEXT
  printf '%s\n' "$2" > src.c
  "$cc" -std=c11 -c -o "$1" src.c
}
b=$scratch/build
obj "$b/one/CMakeFiles/libone.dir/a.c.o"     'int b1(void); int a1(void) { return b1(); }'
obj "$b/one/CMakeFiles/libone.dir/sub/b.c.o" 'int c1(void); int b1(void) { return c1(); }'
obj "$b/one/CMakeFiles/libone.dir/c.c.o"     'int a1(void); int c1(void) { return a1() + 1; }'
obj "$b/one/CMakeFiles/prog.dir/main.c.o"    'int a1(void); int d1(void); int main(void) { return a1() + d1(); }'
obj "$b/two/CMakeFiles/libtwo.dir/d.c.o"     'int e1(void); int d1(void) { return e1(); }'
obj "$b/two/CMakeFiles/libtwo.dir/__/one/e.c.o" 'int d1(void); int f1(void); int e1(void) { return f1() ? d1() : 0; }'
obj "$b/two/CMakeFiles/libtwo.dir/f.c.o"     'int f1(void) { return 0; }'
obj "$b/two/CMakeFiles/libtwo.dir/main.c.o"  'int main(void) { return 0; }'
# a test calling back and forth with the library: not part of the product, skipped
obj "$b/tests/CMakeFiles/test_x.dir/t.c.o"   'int a1(void); int t1(void) { return a1(); }'
obj "$b/tests/CMakeFiles/test_x.dir/u.c.o"   'int t1(void); int c1(void); int main(void) { return t1() + c1(); }'

fail() { echo "selftest_cycles: FAIL: $*"; echo "--- output:"; cat "$scratch/out"; exit 1; }
rc=0; bash "$check" "$b" > "$scratch/out" 2>&1 || rc=$?
cat "$scratch/out"
[ "$rc" = 1 ] || fail "exit $rc with two cycles, expected 1"
grep -qx 'cycle 1 (3 files): one/a.c -> one/sub/b.c -> one/c.c -> one/a.c' "$scratch/out" ||
  fail "three-file cycle not listed as one/a.c -> one/sub/b.c -> one/c.c -> one/a.c"
grep -qx 'cycle 2 (2 files): one/e.c -> two/d.c -> one/e.c' "$scratch/out" ||
  fail "two-file cycle two/d.c <-> one/e.c (source path with __/) not listed"
[ "$(grep -c '^cycle ' "$scratch/out")" = 2 ] || fail "expected exactly two cycles"
! grep -q -e 'main\.c' -e 'tests/' -e 't\.c' "$scratch/out" || fail "a program's main or a test object is in a cycle"

# break both: the checker passes
obj "$b/one/CMakeFiles/libone.dir/c.c.o"     'int c1(void) { return 1; }'
obj "$b/two/CMakeFiles/libtwo.dir/__/one/e.c.o" 'int f1(void); int e1(void) { return f1(); }'
rc=0; bash "$check" "$b" > "$scratch/out" 2>&1 || rc=$?
cat "$scratch/out"
[ "$rc" = 0 ] || fail "exit $rc with the cycles broken, expected 0"

# objects a build folder keeps after a rename (a source gone from its target, a target
# gone): CMake's lists of the current targets and objects leave them out
mkdir -p "$b/gone/CMakeFiles/gone.dir" "$b/CMakeFiles"
obj "$b/one/CMakeFiles/libone.dir/old.c.o" 'int a1(void); int old1(void) { return a1(); }'
obj "$b/one/CMakeFiles/libone.dir/c.c.o"   'int old1(void); int c1(void) { return old1(); }'
obj "$b/gone/CMakeFiles/gone.dir/g.c.o"    'int e1(void); int f1(void) { return e1(); }'
printf 'CMAKE_CACHEFILE_DIR:INTERNAL=%s\n' "$b" > "$b/CMakeCache.txt"
printf '%s\n' "$b/one/CMakeFiles/libone.dir" "$b/one/CMakeFiles/prog.dir" "$b/two/CMakeFiles/libtwo.dir" \
  > "$b/CMakeFiles/TargetDirectories.txt"
{ echo 'set(CMAKE_DEPENDS_DEPENDENCY_FILES'
  for f in a sub/b c; do echo "  \"$scratch/src/$f.c\" \"one/CMakeFiles/libone.dir/$f.c.o\" \"gcc\" \"x.d\""; done
  echo '  )'; } > "$b/one/CMakeFiles/libone.dir/DependInfo.cmake"
rc=0; bash "$check" "$b" > "$scratch/out" 2>&1 || rc=$?
cat "$scratch/out"
[ "$rc" = 0 ] || fail "exit $rc: objects of a removed source or target were checked"
grep -q "(8 files, 8 objects" "$scratch/out" || fail "expected 8 current objects"
echo "selftest_cycles: ok"
