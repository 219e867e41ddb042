#!/usr/bin/env bash
# Installs a built quantgrad into a temporary prefix and builds examples/outside_project against it, as a user
# would (README.md, "Use as a library"): find_package(quantgrad) with CMAKE_PREFIX_PATH, one file compiled
# against the installed headers and static libraries, run, its output checked. Registered in CTest as
# install.package; also configures the course's examples/CMakeLists.txt the same way and builds one of its
# programs. About a minute.
#
#   tests/install/check_install.sh BUILD_DIR [cmake arguments for the outside project...]
#
# BUILD_DIR must be built already (the tools too: a full install includes them). The temporary directories are
# removed on exit, also on failure.
set -euo pipefail
if (($# < 1)) || [[ ! -f "$1/CMakeCache.txt" ]]; then
  echo "check_install: usage: $0 BUILD_DIR [cmake args]  (BUILD_DIR: a configured and built quantgrad build)" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
shift
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/qg_install_check.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

fail() {
  [[ -f "$work/log" ]] && tail -n 40 "$work/log" >&2
  echo "check_install: FAILED: $1" >&2
  exit 1
}

cmake --install "$build_dir" --prefix "$prefix" >"$work/log" 2>&1 ||
  fail "cmake --install $build_dir --prefix $prefix"
for f in include/quantgrad/core/tensor.h include/quantgrad/runtime/runtime.h lib/libqg_runtime.a \
         lib/cmake/quantgrad/quantgradConfig.cmake lib/cmake/quantgrad/quantgradConfigVersion.cmake; do
  [[ -f "$prefix/$f" ]] || fail "the install has no $f"
done
"$prefix/bin/qinfer" --help >/dev/null 2>&1 || fail "the installed tool $prefix/bin/qinfer does not run"
for target in quantgrad util core nn runtime quant datasets config app; do
  grep -q "add_library(quantgrad::$target " "$prefix"/lib/cmake/quantgrad/quantgradTargets.cmake ||
    fail "the package defines no target quantgrad::$target"
done

cmake -S "$source_dir/examples/outside_project" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release "$@" >"$work/log" 2>&1 ||
  fail "configuring examples/outside_project with -DCMAKE_PREFIX_PATH=$prefix (find_package(quantgrad))"
cmake --build "$work/build" >"$work/log" 2>&1 || fail "building examples/outside_project against the install"
"$work/build/outside_project" >"$work/log" 2>&1 || fail "examples/outside_project exited with status $?"
cat "$work/log"
grep -q '^float: *y = -1.0000, dy/dw = \[1, 2, -1\]$' "$work/log" ||
  fail "examples/outside_project printed no 'float: y = -1.0000, dy/dw = [1, 2, -1]'"
grep -q '^int8 runtime: y = -1.0000 (output code 108)$' "$work/log" ||
  fail "examples/outside_project printed no 'int8 runtime: y = -1.0000 (output code 108)'"

# The course's examples/CMakeLists.txt is a template too: outside the tree it must find the package. One
# program is enough to show it configures and links (building all eight would double this test's time).
cmake -S "$source_dir/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release "$@" >"$work/log" 2>&1 ||
  fail "configuring examples/ with -DCMAKE_PREFIX_PATH=$prefix (find_package(quantgrad))"
cmake --build "$work/examples" --target 01_tensors >"$work/log" 2>&1 ||
  fail "building examples/01_tensors.cpp against the install"
"$work/examples/01_tensors" --test >"$work/log" 2>&1 || fail "examples/01_tensors --test exited with status $?"
echo "check_install: ok (installed to a temporary prefix, built and ran examples/outside_project and" \
  "examples/01_tensors)"
