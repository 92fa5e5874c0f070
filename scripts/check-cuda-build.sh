#!/usr/bin/env bash
# Builds the CUDA variant of the addon with cmake-js into build-cuda/ (never build/, which holds
# the node-gyp build that the tests load), checks that no kernel spills registers on sm_90
# (scripts/cuda-kernel-resources.js), loads it in a child node process through
# SUPERLORA_BINARY, and checks it: CUDA compiled in, the devices this machine has (none without
# an NVIDIA driver: then cudaError must say why and cudaFwht must throw, not crash), cudaFwht
# equal to the CPU fwht when there is a device, and the native test suite and the cuda engine's
# conformance test passing on it.
#
# Needs cmake and nvcc. .ci/run calls it when nvcc exists. A full build of all the architectures
# in CMakeLists.txt takes about 40 s on 2 cores; SUPERLORA_CUDA_ARCHITECTURES=90-real (say)
# builds one for a quicker local check.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
if ! command -v nvcc >/dev/null; then
  echo "check-cuda-build: nvcc not found (install the CUDA toolkit or put it on PATH)" >&2
  exit 1
fi

binary="$PWD/build-cuda/Release/superlora.node"
node_gyp_build="$PWD/build/Release/superlora.node"
before=$( [ -f "$node_gyp_build" ] && sha256sum "$node_gyp_build" || echo none )

# Always passed, so that a build without the variable goes back to CMakeLists.txt's full list
# after a quick single-architecture one (an empty value means that list).
extra=("--CDSUPERLORA_CUDA_ARCHITECTURES=${SUPERLORA_CUDA_ARCHITECTURES:-}")
start=$SECONDS
npx --no-install cmake-js compile --out build-cuda --CDSUPERLORA_CUDA=ON "${extra[@]}"
echo "check-cuda-build: cmake-js CUDA build took $((SECONDS - start)) s ($(nvcc --version | tail -1))"

# Every kernel's registers on sm_90, and no stack frame or spill in any (a run-time-indexed array
# or a register budget overrun would slow it on the GPU without failing any test).
node scripts/cuda-kernel-resources.js

after=$( [ -f "$node_gyp_build" ] && sha256sum "$node_gyp_build" || echo none )
if [ "$before" != "$after" ]; then
  echo "check-cuda-build: the CUDA build changed build/Release (node-gyp's output)" >&2
  exit 1
fi

# A GPU is expected exactly when the driver's own tool sees one.
expected_devices=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  expected_devices=1
fi

report=$(SUPERLORA_BINARY="$binary" node scripts/cuda-probe.js)
EXPECTED_DEVICES=$expected_devices REPORT="$report" node -e '
  const report = JSON.parse(process.env.REPORT);
  const expectDevices = process.env.EXPECTED_DEVICES === "1";
  const { capabilities } = report;
  console.log(JSON.stringify({ ...capabilities, cpu: capabilities.cpu.brand }, null, 2));
  const fail = (message) => { console.error("check-cuda-build: " + message); process.exit(1); };
  if (capabilities.cudaCompiled !== true) fail("cudaCompiled is not true");
  if (capabilities.build.variant !== "cmake-js") fail("variant is not cmake-js");
  if (!report.badSizeError || report.badSizeError.name !== "RangeError") fail("bad size did not throw RangeError");
  const devices = capabilities.cudaDevices.length;
  if (!expectDevices) {
    if (devices !== 0) fail(`expected no CUDA device here, found ${devices}`);
    if (!capabilities.cudaError) fail("no cudaError explains the missing device");
    if (!report.noDeviceError || report.noDeviceError.name !== "Error") fail("cudaFwht did not throw an Error without a device");
    console.log(`skipped: no CUDA device (${capabilities.cudaError})`);
    console.log(`cudaFwht without a device: ${report.noDeviceError.message}`);
  } else {
    if (devices === 0) fail(`nvidia-smi lists a GPU but the build sees none: ${capabilities.cudaError}`);
    const bad = report.checks.filter((check) => check.mismatches !== 0);
    if (report.checks.length === 0 || bad.length > 0) fail("cudaFwht differs from fwht: " + JSON.stringify(bad));
    console.log(`cudaFwht matches fwht on ${report.checks.length} cases`);
  }
'

# The same native suite, on the CUDA build, through the real loader, and the cuda engine's
# conformance suite (with a device) or its documented no-device errors (without one).
SUPERLORA_BINARY="$binary" npx --no-install jest test/native test/conformance/cuda.test.ts
echo "check-cuda-build: ok"
