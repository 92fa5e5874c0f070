#!/usr/bin/env bash
# Runs the whole benchmark suite on this machine and keeps the results:
#   bench/results/<date>-<machine>.txt   `superlora info`, then the readable tables
#   bench/results/<date>-<machine>.json  one JSON object per line, per measurement
# <machine> is a slug of the CPU name and its hardware threads (override with
# SUPERLORA_BENCH_MACHINE). Extra arguments go to `bench delta`, e.g. `--engine native`.
# Progress goes to stderr. Benchmarks measure; they are not tests, and this script asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The CLI runs from dist/: compile it unless told the caller just did.
if [ -z "${SUPERLORA_BENCH_NO_BUILD:-}" ]; then
  npm run --silent build:ts
fi

date=$(date -u +%Y-%m-%d)
machine=${SUPERLORA_BENCH_MACHINE:-$(node -e '
  const os = require("os");
  const model = (os.cpus()[0]?.model ?? os.arch()).toLowerCase();
  const slug = model.replace(/\((r|tm)\)/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  process.stdout.write(`${slug}-${os.cpus().length}t`);
')}
out="bench/results/${date}-${machine}"
mkdir -p bench/results
: > "${out}.json"

{
  node bin/superlora.js info
  echo
  echo "== bench delta --workload all"
  node bin/superlora.js bench delta --workload all --json-file "${out}.delta.json" "$@"
  echo
  echo "== bench train-step"
  node bin/superlora.js bench train-step --json-file "${out}.train-step.json"
  echo
  echo "== bench kernels"
  node bin/superlora.js bench kernels --json-file "${out}.kernels.json"
} | tee "${out}.txt"
cat "${out}.delta.json" "${out}.train-step.json" "${out}.kernels.json" >> "${out}.json"
rm -f "${out}.delta.json" "${out}.train-step.json" "${out}.kernels.json"
echo "wrote ${out}.txt and ${out}.json" >&2
