// What every exercise's check.cpp shares: counting compared cases, stopping at the first mismatch with a
// message that shows the inputs and both answers, and the one-line verdict.
//
// A check compares the student's function (namespace exercise, declared in exercises/<name>/<name>.h) with
// the library's on many cases. Its main() is
//     int main(int argc, char** argv) { return exercise::run_check("qparams", argc, argv, check_qparams); }
// and prints, as its last line, one of
//     exercise qparams: PASS (N cases)
//     exercise qparams: FAIL (case K)          after the lines that describe the mismatch
//     exercise qparams: NOT WRITTEN            the function still throws the starter's "not written yet"
// It exits 0 on PASS, 1 otherwise. `--expect pass|fail|not-written` instead exits 0 exactly when the
// verdict is the one expected: ctest uses it to prove that each check fails on the starter and on
// deliberately wrong versions, and passes on the library's own function.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace exercise {

/// Thrown by Check on the first mismatch; run_check prints it.
struct Mismatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Counts cases and compares answers. `inputs` describes the case (shown on a mismatch), `what` names the
/// compared quantity ("scale", "grad_input[3]").
class Check {
 public:
  template <class T>
  void equal(const std::string& inputs, const std::string& what, const T& yours, const T& library) {
    ++cases_;
    if (!(yours == library)) fail(inputs, what, show(yours), show(library));
  }

  /// |yours - library| <= atol + rtol * |library|; NaN matches only NaN.
  void close(const std::string& inputs, const std::string& what, double yours, double library, double atol,
             double rtol) {
    ++cases_;
    const bool both_nan = std::isnan(yours) && std::isnan(library);
    if (!both_nan && !(std::abs(yours - library) <= atol + rtol * std::abs(library))) {
      fail(inputs, what, show(yours),
           show(library) + "  (tolerance " + show(atol + rtol * std::abs(library)) + ")");
    }
  }

  /// A condition of the task that is not a comparison (e.g. "the result must be a view").
  void require(const std::string& inputs, bool ok, const std::string& message) {
    ++cases_;
    if (!ok) throw Mismatch("case: " + inputs + "\n  " + message);
  }

  /// Runs `f`, which must throw: the task says these inputs are an error, as the library says.
  template <class F>
  void throws(const std::string& inputs, F&& f) {
    ++cases_;
    try {
      f();
    } catch (const std::logic_error& e) {
      if (std::string(e.what()).find("not written yet") != std::string::npos) throw;
      return;
    } catch (const std::exception&) {
      return;
    }
    throw Mismatch("case: " + inputs + "\n  yours:   returned normally\n  library: throws (bad input)");
  }

  int64_t cases() const { return cases_; }

  template <class T>
  static std::string show(const T& value) {
    std::ostringstream out;
    out.precision(9);
    out << value;
    return out.str();
  }

 private:
  [[noreturn]] void fail(const std::string& inputs, const std::string& what, const std::string& yours,
                         const std::string& library) {
    throw Mismatch("case: " + inputs + "\n  " + what + ": yours   " + yours + "\n  " +
                   std::string(what.size(), ' ') + "  library " + library);
  }

  int64_t cases_ = 0;
};

/// Runs `body` and prints the verdict; see the header comment for the exit status and `--expect`.
int run_check(const std::string& name, int argc, char** argv, const std::function<void(Check&)>& body);

}  // namespace exercise
