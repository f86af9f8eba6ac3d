#!/usr/bin/env bash
# The C++ sources as .clang-format wants them (clang-format 14, Debian bookworm's): a line past the 110-column
# limit, or any other difference, fails with the file and line. Fix with:
#   git ls-files 'src/*.[ch]pp' 'tests/*.[ch]pp' | xargs clang-format -i
# Exit 77 (CTest: skipped) when clang-format cannot be had; scripts/install-deps.sh installs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v clang-format >/dev/null; then
  echo "format: clang-format is not installed (scripts/install-deps.sh installs it): skipped"
  exit 77
fi
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')
if clang-format --dry-run --Werror "${files[@]}"; then
  echo "format: ${#files[@]} files as .clang-format wants them ($(clang-format --version))"
else
  echo "format: the files above differ from .clang-format; run: git ls-files 'src/*.[ch]pp' 'tests/*.[ch]pp' | xargs clang-format -i" >&2
  exit 1
fi
