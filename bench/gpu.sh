#!/usr/bin/env bash
# One prepared run of the CUDA engine on a device machine (DESIGN.md: the cuda engine is checked
# where a device exists). Prepare here first with bench/gpu-pack.sh, then on the device machine,
# in the repository root, with `.gpu` carried: `bash bench/gpu.sh`. Needs there: an NVIDIA
# driver, nvcc, cmake, ninja and a C++ compiler (no network, no npm).
#
# Steps, each bounded by a timeout (150 + 40 + 120 + 90 + 60 s) so that the whole run stays under
# 8 minutes:
#  1. node and node_modules from .gpu/ when the machine has none;
#  2. the CUDA build (sm_90 only, 16 jobs) into build-cuda/, or .gpu/superlora-cuda.node if the
#     build fails;
#  3. scripts/cuda-probe.js (cudaFwht against the CPU fwht, tile and column passes);
#  4. jest: test/native/cuda.test.ts and test/conformance/cuda.test.ts (the conformance suite on
#     the cuda engine, launch counts, large FWHTs, device-resident calls);
#  5. superlora bench delta --workload all --engine cuda native;
#  6. bench/gpuDevice.js: device-resident timings, launch counts, each kernel's time (CUDA events
#     between launches), device copy / fill bandwidth, the forward with 4 and with 8 values per
#     thread in GenerateKernel (SUPERLORA_CUDA_VALUES_PER_THREAD), to pick the default, and the
#     figures of issue #8 computed from them, each marked pass or FAIL.
# Writes under $OUT (or bench/results/gpu-<time>/): gpu.json (summary), probe.json, jest.json,
# bench-delta.jsonl, device.json, and gpu.log with everything printed.
#
# A rehearsal without a GPU, on the CPU emulator of the CUDA runtime (test/cuda-emulator), runs the
# same glue in a few minutes: GPU_SH_BINARY=$PWD/build-cuda-emulator/Release/superlora.node (no
# build; that binary), GPU_SH_WORKLOADS=lora-r1 (a comma-separated subset of the workloads for
# steps 5 and 6), GPU_BENCH_REPEAT=1 (timed runs in step 6; default 20) and
# GPU_SH_TIMEOUT_SCALE=4 (every step's time limit × 4: the emulator is slow).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/bench/results/gpu-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
exec > >(tee "$out/gpu.log") 2>&1
started=$SECONDS
declare -A status
step() { echo "== gpu.sh [$((SECONDS - started)) s] $*"; }
limit() { echo $(($1 * ${GPU_SH_TIMEOUT_SCALE:-1})); }

step "node"
if ! command -v node >/dev/null; then
  if [ -f .gpu/node.xz ]; then
    mkdir -p /tmp/gpu-node/bin
    xz -dc .gpu/node.xz >/tmp/gpu-node/bin/node && chmod +x /tmp/gpu-node/bin/node
    export PATH=/tmp/gpu-node/bin:$PATH
  else
    echo "gpu.sh: no node here and no .gpu/node.xz (run bench/gpu-pack.sh and carry .gpu)"
    exit 1
  fi
fi
node --version
if [ ! -f node_modules/jest/bin/jest.js ] || [ ! -f dist/index.js ]; then
  if [ -f .gpu/modules.tar.xz ]; then
    tar -xJf .gpu/modules.tar.xz
  else
    echo "gpu.sh: no node_modules here and no .gpu/modules.tar.xz (run bench/gpu-pack.sh)"
    exit 1
  fi
fi
nvidia-smi -L || true
export PATH=$PATH:/usr/local/cuda/bin

step "CUDA build (sm_90)"
binary=$root/build-cuda/Release/superlora.node
build_start=$SECONDS
if [ -n "${GPU_SH_BINARY:-}" ]; then
  echo "gpu.sh: no build, GPU_SH_BINARY=$GPU_SH_BINARY"
  binary=$GPU_SH_BINARY
  status[build]=skipped
elif CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 150 node node_modules/cmake-js/bin/cmake-js compile \
  --out build-cuda --CDSUPERLORA_CUDA=ON --CDSUPERLORA_CUDA_ARCHITECTURES=90-real; then
  status[build]=ok
else
  status[build]=failed
  echo "gpu.sh: the CUDA build failed; falling back to .gpu/superlora-cuda.node"
  binary=$root/.gpu/superlora-cuda.node
fi
build_seconds=$((SECONDS - build_start))
export SUPERLORA_BINARY=$binary

step "probe (cudaFwht against the CPU fwht)"
if timeout "$(limit 40)" node scripts/cuda-probe.js >"$out/probe.json"; then
  status[probe]=ok
  node -e 'const r = require(process.argv[1]); const bad = r.checks.filter((c) => c.mismatches);
    console.log(`devices: ${r.capabilities.cudaDevices.map((d) => d.name).join(", ") || "none: " + r.capabilities.cudaError}`);
    console.log(`cudaFwht: ${r.checks.length} cases, ${bad.length} with mismatches`);
    if (bad.length || r.capabilities.cudaDevices.length === 0) process.exit(1);' "$out/probe.json" ||
    status[probe]=failed
else
  status[probe]=failed
fi

step "jest: cuda tests and the conformance suite on the cuda engine"
if timeout "$(limit 120)" node node_modules/jest/bin/jest.js test/native/cuda.test.ts \
  test/conformance/cuda.test.ts --json --outputFile="$out/jest.json"; then
  status[jest]=ok
else
  status[jest]=failed
fi

step "bench delta --engine cuda native"
workloads=${GPU_SH_WORKLOADS:-all}
# --json on stdout, not --json-file: the file fills line by line, so a run the timeout stops keeps
# the workloads it finished (--json-file is written only once the run completes).
# shellcheck disable=SC2086 # one word per workload
if timeout "$(limit 90)" node bin/superlora.js bench delta --workload ${workloads//,/ } --engine cuda native \
  --threads 16 --repeat 5 --json >"$out/bench-delta.jsonl"; then
  status[benchDelta]=ok
else
  status[benchDelta]=failed
fi

step "device-resident timings and device bandwidth"
if GPU_BENCH_REPEAT=${GPU_BENCH_REPEAT:-20} GPU_BENCH_WORKLOADS=${GPU_SH_WORKLOADS:-} timeout "$(limit 60)" \
  node bench/gpuDevice.js >"$out/device.json"; then
  status[device]=ok
else
  status[device]=failed
fi

step "summary"
STATUS="$(for key in "${!status[@]}"; do echo "$key=${status[$key]}"; done)" \
  BUILD_SECONDS=$build_seconds TOTAL_SECONDS=$((SECONDS - started)) OUT_DIR="$out" node -e '
  const fs = require("fs");
  const path = require("path");
  const dir = process.env.OUT_DIR;
  const read = (file) => { try { return JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")); } catch { return null; } };
  const status = Object.fromEntries(process.env.STATUS.trim().split("\n").filter(Boolean).map((l) => l.split("=")));
  const jest = read("jest.json");
  const summary = {
    status,
    buildSeconds: Number(process.env.BUILD_SECONDS),
    totalSeconds: Number(process.env.TOTAL_SECONDS),
    binary: process.env.SUPERLORA_BINARY,
    capabilities: read("probe.json")?.capabilities ?? null,
    jest: jest && { passed: jest.numPassedTests, failed: jest.numFailedTests, total: jest.numTotalTests,
      failures: jest.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === "failed")
        .map((a) => ({ test: a.fullName, message: a.failureMessages.join("\n").slice(0, 2000) }))) },
    device: read("device.json"),
  };
  fs.writeFileSync(path.join(dir, "gpu.json"), JSON.stringify(summary, null, 2));
  const figures = summary.device?.figures ?? [];
  console.log(JSON.stringify({ status, buildSeconds: summary.buildSeconds, totalSeconds: summary.totalSeconds, jest: summary.jest && { passed: summary.jest.passed, failed: summary.jest.failed },
    figures: { emulated: summary.device?.emulated ?? null, passed: figures.filter((f) => f.pass).length, failed: figures.filter((f) => !f.pass).map((f) => f.figure) } }));
'
echo "gpu.sh: results in $out"
for key in "${!status[@]}"; do [ "${status[$key]}" = ok ] || [ "${status[$key]}" = skipped ] || exit 1; done
