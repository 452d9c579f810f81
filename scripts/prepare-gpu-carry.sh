#!/usr/bin/env bash
# prepare-gpu-carry.sh: gathers, on this (Debian 12, x86-64) machine, what a GPU machine
# without Debian packages or network needs to build attnplan: static libyaml, GLPK (with
# the libltdl and zlib it calls), OpenBLAS (the CPU backend, which the GPU tests compare
# against), their headers, and pkgconf to read yaml-0.1.pc. They land
# in .carry/ (git-ignored), which travels with the source tree; scripts/gpu-check.sh finds
# them there (CMAKE_PREFIX_PATH, PKG_CONFIG_PATH, GLPK_LIBRARY). The packages are fetched
# with `apt-get download` and unpacked with `dpkg -x`; without network, the copies
# installed here (scripts/deps.sh) are used instead.
#   .carry/include/{yaml.h,glpk.h}   .carry/lib/{libyaml.a,libglpk.a,libltdl.a,libz.a}
#   .carry/lib/pkgconfig/yaml-0.1.pc (relocatable: prefix=${pcfiledir}/../..)
#   .carry/bin/pkg-config (wrapper) + .carry/pkgconf/{pkgconf,libpkgconf.so.3}
#   .carry/include/{cblas.h,openblas_config.h}  .carry/lib/libopenblas.a.gz: only the
#     archive members the runtime's cblas_* / openblas_* calls pull in (the whole archive
#     is 58 MB; this is about 5 MB gzipped); gpu-check.sh unpacks it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
carry=$root/.carry
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
pkgs=(libyaml-dev libglpk-dev libltdl-dev zlib1g-dev pkgconf-bin libpkgconf3 libopenblas-pthread-dev)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/root
mkdir -p "$src"
if (cd "$work" && apt-get download "${pkgs[@]}" >/dev/null 2>&1); then
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$src"; done
  echo "prepare-gpu-carry: unpacked ${pkgs[*]}" >&2
else
  echo "prepare-gpu-carry: apt-get download failed (no network?); using the installed files" >&2
  src=""
fi

need() { # copies $1 (path under the package root) to $2
  local f=$src/$1
  [ -e "$f" ] || f=/$1
  if [ ! -e "$f" ]; then
    echo "prepare-gpu-carry: missing $1 (install ${pkgs[*]})" >&2
    exit 1
  fi
  cp -L "$f" "$2"
}

rm -rf "$carry"
mkdir -p "$carry"/{include,lib/pkgconfig,bin,pkgconf}
need usr/include/yaml.h "$carry/include/"
need usr/include/glpk.h "$carry/include/"
for lib in libyaml.a libglpk.a libltdl.a libz.a; do need "usr/lib/$arch/$lib" "$carry/lib/"; done
need usr/bin/pkgconf "$carry/pkgconf/"
need "usr/lib/$arch/libpkgconf.so.3" "$carry/pkgconf/"
ver=$(sed -n 's/^Version: *//p' "${src:-}/usr/lib/$arch/pkgconfig/yaml-0.1.pc" 2>/dev/null ||
      sed -n 's/^Version: *//p' "/usr/lib/$arch/pkgconfig/yaml-0.1.pc")
cat > "$carry/lib/pkgconfig/yaml-0.1.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: LibYAML
Description: Library to parse and emit YAML (static, carried by scripts/prepare-gpu-carry.sh)
Version: ${ver:-0.2.5}
Cflags: -I\${includedir}
Libs: -L\${libdir} -lyaml
EOF
cat > "$carry/bin/pkg-config" <<'EOF'
#!/bin/sh
# pkgconf carried from Debian 12 by scripts/prepare-gpu-carry.sh
d=$(cd "$(dirname "$0")/../pkgconf" && pwd)
LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/pkgconf" "$@"
EOF
chmod +x "$carry/bin/pkg-config" "$carry/pkgconf/pkgconf"

# OpenBLAS: link a stub that references every cblas_*/openblas_* function the sources
# call, read from the link map which archive members that took, keep only those.
ob=$work/ob
mkdir -p "$ob"
need "usr/include/$arch/openblas-pthread/cblas.h" "$carry/include/"
need "usr/include/$arch/openblas-pthread/openblas_config.h" "$carry/include/"
need "usr/lib/$arch/openblas-pthread/libopenblas.a" "$ob/full.a"
syms=$(grep -ohE '\b(cblas_[a-z0-9_]+|openblas_[a-z0-9_]+)\b' "$root"/runtime/*.c "$root"/runtime/*/*.c \
         "$root"/kernels/*.c 2>/dev/null | sort -u)
{
  for f in $syms; do echo "extern void $f(void);"; done
  echo "void *attn_carry_refs[] = {"
  for f in $syms; do echo "  (void *)$f,"; done
  echo "};"
  echo "int main(void) { return attn_carry_refs[0] == 0; }"
} > "$ob/refs.c"
gcc -fno-builtin "$ob/refs.c" "$ob/full.a" -lpthread -lm -o "$ob/refs" -Wl,-Map="$ob/map.txt"
grep -oE 'full\.a\([^)]*\)' "$ob/map.txt" | sed 's/^full\.a(\(.*\))$/\1/' | sort -u > "$ob/members.txt"
(cd "$ob" && xargs ar x full.a < members.txt && xargs ar rcs libopenblas.a < members.txt)
gzip -9 -c "$ob/libopenblas.a" > "$carry/lib/libopenblas.a.gz"
echo "prepare-gpu-carry: OpenBLAS: $(wc -l < "$ob/members.txt") members for $(echo $syms)" >&2
echo "prepare-gpu-carry: $(du -sh "$carry" | cut -f1) in $carry" >&2
find "$carry" -type f | sed "s|$root/||" | sort >&2
