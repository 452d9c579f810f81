#!/usr/bin/env bash
# usage: check_tree.sh SOURCE_DIR
#
# Checks what git tracks (git ls-files; skipped, exit 77, outside a git checkout):
#  1. no compiled files: *.o *.obj *.a *.so *.so.N *.dylib *.pyc *.pyo, anything under a
#     __pycache__/, and no file whose content is an ELF binary or an ar archive (an
#     executable or library committed without its usual name);
#  2. no path of a build machine: /work/, /root/ and /home/ in any tracked file (a user has
#     none of them); /tmp/ in data files (*.yaml *.yml *.json *.csv *.tsv), where it records
#     a file that existed only on the machine that wrote it. /tmp/ stays allowed in code,
#     scripts and docs, where it is a scratch place of the reader's own machine
#     (mkstemp templates, `mktemp -d /tmp/x.XXXXXX`, example commands such as
#     `--out /tmp/acc`): every Unix machine has one.
# ALLOW below lists the files exempt from rule 2, each with its reason.
set -euo pipefail
src=${1:?usage: check_tree.sh SOURCE_DIR}
export LC_ALL=C
command -v git >/dev/null || { echo "check_tree: no git; skipped"; exit 77; }
cd "$src"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "check_tree: $src is not a git checkout; skipped"; exit 77; }

# file: reason
ALLOW=(
  "tests/structure/check_tree.sh: names the patterns it looks for"
)
allowed() {
  local a
  for a in "${ALLOW[@]}"; do [ "${a%%:*}" = "$1" ] && return 0; done
  return 1
}

bad=0
files=$(mktemp)
trap 'rm -f "$files"' EXIT
git ls-files -z --cached | tr '\0' '\n' > "$files"
echo "check_tree: $(wc -l < "$files") tracked files"

# 1. compiled files, by name
while IFS= read -r f; do
  echo "compiled file tracked: $f"; bad=1
done < <(grep -E '(^|/)__pycache__/|\.(o|obj|a|so|dylib|pyc|pyo)$|\.so\.[0-9]+' "$files" || true)
# ... and by content: ELF (\177ELF) or ar (!<arch>) magic
while IFS= read -r f; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  magic=$(head -c 8 "$f" | od -An -c | tr -d ' \n')
  case "$magic" in
    177ELF*) echo "compiled file tracked (ELF binary): $f"; bad=1 ;;
    '!<arch>\n'*) echo "compiled file tracked (ar archive): $f"; bad=1 ;;
  esac
done < "$files"

# 2. build-machine paths
while IFS= read -r f; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  allowed "$f" && continue
  pat='/(work|root|home)/'
  case "$f" in *.yaml|*.yml|*.json|*.csv|*.tsv) pat='/(work|root|home|tmp)/' ;; esac
  # -I: binary files (images) carry no paths a reader follows
  if grep -I -n -E "$pat" "$f" > /dev/null 2>&1; then
    grep -I -n -E "$pat" "$f" | sed "s|^|build-machine path: $f:|" | cut -c1-240
    bad=1
  fi
done < "$files"

if [ "$bad" != 0 ]; then
  echo "check_tree: FAIL (see above: untrack compiled files; cite the original of a figure or use a path relative to the repository, not a build machine's)"
  exit 1
fi
echo "check_tree: ok (no compiled files, no build-machine paths)"
