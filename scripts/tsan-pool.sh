#!/usr/bin/env bash
# The kernels' thread pool under ThreadSanitizer: builds scripts/pool-stress.cc with
# native/parallel/thread_pool.cc and -fsanitize=thread into a temporary folder and runs it (20 000
# jobs by default, or the first argument). Any data race or wrong result fails the script.
# .ci/run runs it (about 6 s on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++17 -O1 -g -fsanitize=thread -pthread scripts/pool-stress.cc \
  native/parallel/thread_pool.cc -o "$out/pool-stress"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$out/pool-stress" "${1:-20000}"
