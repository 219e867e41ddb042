#!/usr/bin/env bash
# ctest exercise.script: scripts/exercise as a student uses it, on the build under test and in a temporary
# folder of "mine" files (QG_EXERCISE_MINE), so a student's own exercises/mine/ is never touched.
#   script_test.sh SCRIPT BUILD_DIR
set -euo pipefail
script="$1"
build="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
mine="$(mktemp -d)"
trap 'rm -rf "$mine"' EXIT
export QG_EXERCISE_MINE="$mine"
run() { "$script" "$@" --build-dir "$build"; }
fail() {
  echo "exercise.script: $*" >&2
  exit 1
}

# list names every exercise, all not started.
listing="$(run list)"
for name in tensor_strides custom_function conv2d_backward qparams fake_quant_backward lsq_backward bn_fold \
            quantize_multiplier requantize; do
  grep -q "^$name .*not started" <<<"$listing" ||
    fail "list does not show '$name' as not started:"$'\n'"$listing"
done

# start copies the starter and refuses to overwrite it.
run start qparams >/dev/null
cmp -s "$mine/qparams.cpp" "$root/exercises/qparams/starter.cpp" || fail "start did not copy the starter"
if run start qparams 2>/dev/null; then fail "a second start overwrote exercises/mine/qparams.cpp"; fi
grep -q "^qparams .*started" <<<"$(run list)" || fail "list does not show qparams as started"

# check on the untouched copy: NOT WRITTEN, exit status 1.
status=0
out="$(run check qparams 2>/dev/null)" || status=$?
((status == 1)) || fail "check on the starter exited $status, expected 1"
[[ "$(tail -n 1 <<<"$out")" == "exercise qparams: NOT WRITTEN"* ]] || fail "check on the starter said: $out"

# A wrong version: FAIL, exit status 1; the library's: PASS, exit 0, and list then says passing.
status=0
out="$(run check qparams --file "$root/exercises/qparams/wrong_round_half_away.cpp" 2>/dev/null)" || status=$?
((status == 1)) || fail "check on a wrong version exited $status, expected 1"
[[ "$(tail -n 1 <<<"$out")" == "exercise qparams: FAIL"* ]] || fail "check on a wrong version said: $out"
cp "$root/exercises/qparams/reference.cpp" "$mine/qparams.cpp"
out="$(run check qparams 2>/dev/null)" || fail "check on the library's version failed: $out"
[[ "$(tail -n 1 <<<"$out")" == "exercise qparams: PASS"* ]] ||
  fail "check on the library's version said: $out"
grep -q "^qparams .*passing" <<<"$(run list)" || fail "list does not show qparams as passing after a pass"
echo "// an edit" >>"$mine/qparams.cpp"
grep -q "^qparams .*started" <<<"$(run list)" || fail "list still says passing after the file changed"

# A file that does not compile: a clear verdict, exit status 1.
printf 'this is not C++\n' >"$mine/broken.cpp"
status=0
out="$(run check qparams --file "$mine/broken.cpp" 2>/dev/null)" || status=$?
((status == 1)) || fail "check on a file that does not compile exited $status, expected 1"
[[ "$(tail -n 1 <<<"$out")" == "exercise qparams: DOES NOT COMPILE"* ]] ||
  fail "check on broken C++ said: $out"

# Bad requests: an unknown exercise, a missing file.
if run check no_such_exercise 2>/dev/null; then fail "check accepted an unknown exercise"; fi
if run check qparams --file "$mine/missing.cpp" 2>/dev/null; then fail "check accepted a missing file"; fi
echo "exercise.script: ok"
