#!/usr/bin/env bash
# Runs the CUDA engine without a GPU: the kernels of cuda/ compiled as C++ against the CPU emulator
# of the CUDA runtime (test/cuda-emulator), which runs each launch's blocks on fibers and reports
# what a GPU would fault on or leave undefined (see its README). Steps:
#  1. the emulator's own self-test (test/cuda-emulator/selftest.cc): right kernels give right
#     values, and every kind of mistake it exists to catch is caught; then the host checks of
#     cuda/ headers (test/cuda-host: the fast division the Kronecker kernels index with);
#  2. the addon built against it (npm run build:cuda-emulator → build-cuda-emulator/);
#  3. cudaFwht against the CPU fwht (scripts/cuda-probe.js), with the H100 / H200 shared memory
#     (2^15-float tiles) and with 16 KiB (2^12-float tiles, so the column pass runs from 2^13);
#  4. the cuda tests and the conformance suite on the cuda engine (test/native/cuda.test.ts,
#     test/conformance/cuda.test.ts), with both shared-memory sizes (the second run also with
#     SUPERLORA_CUDA_VALUES_PER_THREAD=8);
#  5. bench/gpu.sh, the one prepared GPU run, rehearsed on the emulator with one workload, so that
#     its glue is known to work before a device machine runs it.
# Needs g++ and cmake; no nvcc, no GPU. .ci/run calls it (about 7 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "cuda-emulator-test: self-test"
g++ -std=c++17 -O1 -Wall -Wextra -Werror -DSUPERLORA_CUDA_EMULATOR -Itest/cuda-emulator/include \
  -x c++ test/cuda-emulator/emulator.cc test/cuda-emulator/selftest.cc -o "$work/selftest"
g++ -std=c++17 -O2 -Wall -Wextra -Werror -Itest/cuda-emulator/include \
  -x c++ test/cuda-host/fast_divisor_check.cc -o "$work/fast_divisor_check"
"$work/fast_divisor_check"
"$work/selftest"

echo "cuda-emulator-test: the addon against the emulator (and dist/, which a test's child loads)"
npm run --silent build:ts
start=$SECONDS
npx --no-install cmake-js compile --out build-cuda-emulator --CDSUPERLORA_CUDA_EMULATOR=ON >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; exit 1; }
echo "cuda-emulator-test: built in $((SECONDS - start)) s"
export SUPERLORA_BINARY="$PWD/build-cuda-emulator/Release/superlora.node"

for kib in 227 16; do
  echo "cuda-emulator-test: cudaFwht against fwht, $kib KiB of shared memory per block"
  SUPERLORA_CUDA_EMULATOR_SHARED_KIB=$kib node scripts/cuda-probe.js >"$work/probe.json"
  node -e '
    const r = require(process.argv[1]);
    const bad = r.checks.filter((c) => c.mismatches !== 0);
    const name = r.capabilities.cudaDevices.map((d) => d.name).join(", ");
    if (!/emulator/.test(name)) { console.error("not the emulator: " + name); process.exit(1); }
    if (r.checks.length === 0 || bad.length) { console.error(JSON.stringify(bad)); process.exit(1); }
    console.log(`cudaFwht matches fwht on ${r.checks.length} cases (${name})`);' "$work/probe.json"
done

echo "cuda-emulator-test: the cuda engine's tests, 227 KiB of shared memory (2^15-float FWHT tiles)"
SUPERLORA_CUDA_EMULATOR_SHARED_KIB=227 npx --no-install jest test/native/cuda.test.ts test/conformance/cuda.test.ts
echo "cuda-emulator-test: the conformance suite again with 4 KiB (2^10-float tiles: column passes)" \
  "and 8 values per thread in the forward"
SUPERLORA_CUDA_EMULATOR_SHARED_KIB=4 SUPERLORA_CUDA_VALUES_PER_THREAD=8 \
  npx --no-install jest test/conformance/cuda.test.ts
echo "cuda-emulator-test: bench/gpu.sh rehearsed on the emulator (lora-r1)"
OUT="$work/gpu" GPU_SH_BINARY="$SUPERLORA_BINARY" GPU_SH_WORKLOADS=lora-r1 GPU_BENCH_REPEAT=1 \
  GPU_SH_TIMEOUT_SCALE=4 bash bench/gpu.sh >"$work/gpu.log" 2>&1 || { cat "$work/gpu.log"; exit 1; }
tail -2 "$work/gpu.log"
# One JSON line per engine for the one workload: the file the GPU run's figures are read from.
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const engines = lines.map((record) => record.engine).sort().join(",");
  if (engines !== "cuda,native") throw new Error(`bench-delta.jsonl has engines ${engines}`);
' "$work/gpu/bench-delta.jsonl"
echo "cuda-emulator-test: ok"
