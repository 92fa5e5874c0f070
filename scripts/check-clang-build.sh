#!/usr/bin/env bash
# The addon built from source with clang instead of GCC (macOS builds with Apple clang, and many
# Linux users set CXX=clang++), then the native code's test suites on that binary: the engines
# against each other, float64 and the SPEC's vectors, the native tfjs kernels bit for bit against
# tfjs's, the kernels, the thread pool, linalg. node-gyp builds binding.gyp in a temporary copy of
# the package (build/ is left alone) with -Werror on top of its flags, so a warning clang gives
# and GCC does not fails here too. Prints its wall time.
#   bash scripts/check-clang-build.sh [CLANG++]   (default: the newest clang++ on PATH)
# Needs clang (Debian: apt-get install clang; .ci/run installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
started=$(date +%s)

compiler=${1:-}
if [ -z "$compiler" ]; then
  for candidate in clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14 clang++; do
    command -v "$candidate" >/dev/null && { compiler=$candidate; break; }
  done
fi
[ -n "$compiler" ] && command -v "$compiler" >/dev/null ||
  { echo "check-clang-build: no clang++ (apt-get install clang)" >&2; exit 1; }
c_compiler=${compiler/clang++/clang}

work=$(mktemp -d "${TMPDIR:-/tmp}/superlora-clang-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r package.json binding.gyp native "$work/"
ln -s "$root/node_modules" "$work/node_modules"

echo "== node-gyp build with $("$compiler" --version | head -n 1)"
# The package's own build script, through npm (which puts its bundled node-gyp on PATH).
(cd "$work" && CC="$c_compiler" CXX="$compiler" CXXFLAGS="-Werror" JOBS=max \
  npm run --silent build:native >build.log 2>&1) ||
  { cat "$work/build.log" >&2; echo "check-clang-build: the clang build failed" >&2; exit 1; }
binary="$work/build/Release/superlora.node"
SUPERLORA_BINARY="$binary" node bin/superlora.js info | grep -E '^build ' | grep -q clang ||
  { echo "check-clang-build: $binary does not say it was built by clang" >&2; exit 1; }
echo "   built in $(($(date +%s) - started)) s"

echo "== the native code's suites on the clang build"
status=0
SUPERLORA_BINARY="$binary" npx jest --ci test/native test/conformance test/tfjs test/linalg \
  test/vectors.test.ts >"$work/jest.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$work/jest.log" >&2
  echo "check-clang-build: a suite failed on the clang build" >&2
  exit 1
fi
grep -E '^(PASS|FAIL)|^Tests:' "$work/jest.log"
echo "== clang build check passed in $(($(date +%s) - started)) s"
