#!/usr/bin/env bash
# Configures tests/install/subproject, a wrapper project that takes quantgrad in with add_subdirectory (as
# FetchContent does). Its CMakeLists.txt fails the configure unless quantgrad came in as a library only: every
# quantgrad::<module> target present, no tools, tests, fuzz targets or benchmark. Configure only, nothing is
# compiled: a few seconds. Registered in CTest as install.subproject.
#
#   tests/install/check_subproject.sh [cmake arguments...]
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/qg_subproject_check.XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! cmake -S "$source_dir/tests/install/subproject" -B "$work/build" -DQG_SOURCE_DIR="$source_dir" "$@" \
     >"$work/log" 2>&1; then
  tail -n 40 "$work/log" >&2
  echo "check_subproject: FAILED: configuring a project that does add_subdirectory($source_dir)" >&2
  exit 1
fi
grep 'subproject:' "$work/log" || true
echo "check_subproject: ok (quantgrad as a subproject: libraries only)"
