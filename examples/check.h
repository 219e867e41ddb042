// The course programs' self-checks. Each claim a chapter makes ("the gradients agree", "the derived code is
// the runtime's") is checked by its program: a claim that does not hold prints `CHECK FAILED: <claim>` on
// standard error and counts; the program then exits non-zero (ctest runs every program with --test).
#pragma once

#include <cstdio>
#include <string>

namespace course {

/// How many claims have failed so far in this program.
inline int& failures() {
  static int count = 0;
  return count;
}

/// Checks one claim; `claim` says what should hold, in the chapter's words.
inline void check(bool ok, const std::string& claim) {
  if (!ok) {
    std::fprintf(stderr, "CHECK FAILED: %s\n", claim.c_str());
    ++failures();
  }
}

}  // namespace course
