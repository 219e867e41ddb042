#include "exercises/common/check.h"

#include <cstring>
#include <iostream>

namespace exercise {

namespace {

enum class Verdict { Pass, Fail, NotWritten };

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Pass:
      return "pass";
    case Verdict::Fail:
      return "fail";
    case Verdict::NotWritten:
      return "not-written";
  }
  return "?";
}

// The verdict `--expect` asks for, or nullptr without the flag. Throws for a flag the check does not know.
const char* expected_verdict(int argc, char** argv) {
  const char* expected = nullptr;
  for (int i = 1; i < argc; ++i) {
    const bool flag = std::strcmp(argv[i], "--expect") == 0;
    if (flag && i + 1 < argc &&
        (std::strcmp(argv[i + 1], "pass") == 0 || std::strcmp(argv[i + 1], "fail") == 0 ||
         std::strcmp(argv[i + 1], "not-written") == 0)) {
      expected = argv[++i];
    } else {
      throw std::invalid_argument(std::string("unknown argument '") + argv[i] +
                                  "' (expected nothing, or --expect pass|fail|not-written)");
    }
  }
  return expected;
}

}  // namespace

int run_check(const std::string& name, int argc, char** argv, const std::function<void(Check&)>& body) {
  const char* expected = nullptr;
  try {
    expected = expected_verdict(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "exercise " << name << ": " << e.what() << "\n";
    return 2;
  }
  Check check;
  Verdict verdict = Verdict::Pass;
  try {
    body(check);
    std::cout << "exercise " << name << ": PASS (" << check.cases() << " cases)\n";
  } catch (const Mismatch& m) {
    verdict = Verdict::Fail;
    std::cout << m.what() << "\n";
    std::cout << "exercise " << name << ": FAIL (case " << check.cases() << ")\n";
  } catch (const std::logic_error& e) {
    const bool starter = std::string(e.what()).find("not written yet") != std::string::npos;
    verdict = starter ? Verdict::NotWritten : Verdict::Fail;
    if (starter) {
      std::cout << "exercise " << name << ": NOT WRITTEN (the function still throws \"" << e.what()
                << "\")\n";
    } else {
      std::cout << "your function threw: " << e.what() << "\n";
      std::cout << "exercise " << name << ": FAIL (case " << check.cases() << ")\n";
    }
  } catch (const std::exception& e) {
    verdict = Verdict::Fail;
    std::cout << "your function threw where the library does not: " << e.what() << "\n";
    std::cout << "exercise " << name << ": FAIL (case " << check.cases() << ")\n";
  }
  if (!expected) return verdict == Verdict::Pass ? 0 : 1;
  if (std::strcmp(expected, verdict_name(verdict)) == 0) return 0;
  std::cout << "exercise " << name << ": expected the verdict '" << expected << "', got '"
            << verdict_name(verdict) << "'\n";
  return 1;
}

}  // namespace exercise
