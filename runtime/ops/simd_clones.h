// QG_RUNTIME_CLONES: compile a plain integer loop for AVX-512, AVX2 and the x86-64 baseline, and let the
// dynamic loader pick the best one for the CPU (GCC target_clones). Integers are exact, so every clone
// computes the same values; only the speed differs. Empty on other compilers and architectures.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define QG_RUNTIME_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QG_RUNTIME_CLONES
#endif
