#!/usr/bin/env bash
# The test suites of the native code (engines against each other and the SPEC's vectors, the
# native tfjs kernels bit for bit against tfjs's, the kernels, the thread pool, linalg) run on a
# cross-compiled prebuilt binary, by that platform's Node.js (scripts/target-node.sh):
#   linux-arm64  under qemu: the same C++ compiled by another compiler back end for another
#                instruction set (no AVX2 / AVX-512 paths, NEON through auto-vectorisation);
#   win32-x64    under Wine: the same C++ compiled by MinGW-w64 for Windows (its C and C++
#                runtimes, threads, file system, the PE loader binding it to node.exe).
# Before them, ΔW and gradients of five configs, bit for bit against this machine's binary at the
# same instruction set (scripts/delta-digests.js): the portable kernels (arm64 is built without
# fused multiply-adds, so it does the same IEEE operations in the same order), and on win32-x64
# the AVX2 and AVX-512 kernels too. Suites that start child processes are left out on
# linux-arm64 (qemu-user cannot run the arm64 node a child would be started with). Prints its
# wall time.
#   bash scripts/target-tests.sh TARGET        (npm run test:arm64, npm run test:win32)
# The TypeScript is compiled here, on this machine's node; jest then runs the JavaScript on the
# target's Node.js, in two processes at once.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
started=$(date +%s)
target=${1:?usage: target-tests.sh linux-arm64|win32-x64}
platform=${target%-*}
arch=${target##*-}
target_node=$(bash scripts/target-node.sh "$target")
binary=$(bash scripts/ensure-prebuilt.sh "$target")

# Two lists of about equal time, run at once: 7–8 minutes each under qemu, 2–4 minutes under Wine
# on the 2-core machine. Left out on linux-arm64 for time: test/native/engine.test.ts and
# fastfood.test.ts (over 400 s each under qemu; the conformance suite covers both engines' ΔW,
# fastfood included, against float64), and every suite that starts a child process.
suites_a=(
  test/tfjs/kernels.test.ts
  test/conformance/native.test.ts
  test/vectors.test.ts
  test/rng.test.ts
  test/linalg/symmetricEigen.test.ts
  test/linalg/lowRankDecomposition.test.ts
  test/tfjs/nativeGradients.test.ts
)
suites_b=(
  test/native/fusedOps.test.ts
  test/native/fwht.test.ts
  test/tfjs/convolution.test.ts
  test/native/kernels.test.ts
  test/native/threadPool.test.ts
  test/tfjs/pooling.test.ts
  test/tfjs/maskKernels.test.ts
  test/tfjs/batchNorm.test.ts
)
if [ "$target" = win32-x64 ]; then
  suites_a+=(
    test/native/engine.test.ts
    test/native/rng.test.ts
    test/native/fuzz.test.ts
    test/native/realm.test.ts
    test/native/workerThreads.test.ts
    test/native/capabilities.test.ts
    test/native/version.test.ts
    test/native/addonEnvironment.test.ts
  )
  suites_b+=(
    test/native/fastfood.test.ts
    test/conformance/tfjs.test.ts
    test/tfjs/modelAdapter.test.ts
    test/tfjs/modelAdapterMerge.test.ts
    test/tfjs/layersModel.test.ts
    test/tfjs/outputPool.test.ts
    test/io/atomicWrite.test.ts
    test/io/safetensors.test.ts
    test/adapterFile.test.ts
  )
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/superlora-target-tests-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== a copy of the package with prebuilds/$target only, npm ci for $target"
cp -r package.json package-lock.json tsconfig.json src test "$work/"
# native/ for the fuzz suite, which checks that the binary is not older than its sources.
cp -rp native "$work/"
mkdir -p "$work/prebuilds" && cp -r "prebuilds/$target" "$work/prebuilds/"
(cd "$work" && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error \
  --os="$platform" --cpu="$arch")

echo "== compile the TypeScript (here), beside its sources"
cat >"$work/tsconfig.target.json" <<'JSON'
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "noEmit": false, "rootDir": ".", "outDir": ".", "sourceMap": false,
                       "declaration": false, "incremental": false },
  "include": ["src/**/*.ts", "test/**/*.ts"],
  "exclude": ["node_modules"]
}
JSON
(cd "$work" && node "$root/node_modules/typescript/bin/tsc" -p tsconfig.target.json)
# The fuzz suite's child process loads the package as it ships (dist/).
cp -r "$work/src" "$work/dist"
cat >"$work/jest.target.config.js" <<'JS'
module.exports = { testEnvironment: 'node', transform: {}, testTimeout: 1200000 };
JS

loaded=$(cd "$work" && "$target_node" -p "require('./src/native/loadAddon').addonInfo().path")
expected=$(cd "$work" && "$target_node" -p "require('path').resolve('$binary')")
[ "$loaded" = "$expected" ] ||
  { echo "target-tests: the tests would load $loaded, not the $target prebuilt binary" >&2; exit 1; }

host_binary=""
for candidate in build/Release/superlora.node prebuilds/linux-x64/superlora.glibc.node; do
  [ -e "$candidate" ] && { host_binary="$root/$candidate"; break; }
done
[ -n "$host_binary" ] ||
  { echo "target-tests: no x86-64 binary to compare with (npm run build:native)" >&2; exit 1; }
# The portable kernels, and on x86-64 targets each SIMD path too (SUPERLORA_ISA caps at what this
# CPU has, the same cap on both sides).
isas=(portable)
[ "$arch" = x64 ] && isas+=(avx2 avx512)
for isa in "${isas[@]}"; do
  echo "== ΔW and gradients on $target against this machine's, both at $isa, bit for bit"
  SUPERLORA_BINARY="$host_binary" SUPERLORA_ISA=$isa \
    node scripts/delta-digests.js "$work" >"$work/digests-host.txt"
  (cd "$work" && SUPERLORA_ISA=$isa "$target_node" "$root/scripts/delta-digests.js" "$work") \
    >"$work/digests-target.txt"
  if ! diff "$work/digests-host.txt" "$work/digests-target.txt"; then
    echo "target-tests: $target and $(node -p 'process.platform + "-" + process.arch') ΔW or gradients differ at $isa (above)" >&2
    exit 1
  fi
  echo "   $(wc -l <"$work/digests-target.txt") configs agree"
done

echo "== jest on $("$target_node" -p '`${process.platform}-${process.arch}, Node.js ${process.version}`'), two processes"
jest_target() {
  (cd "$work" && "$target_node" node_modules/jest/bin/jest.js --config jest.target.config.js \
    --runInBand --ci "${@/%.ts/.js}")
}
jest_target "${suites_a[@]}" >"$work/a.log" 2>&1 &
first=$!
jest_target "${suites_b[@]}" >"$work/b.log" 2>&1 &
second=$!
status=0
wait "$first" || status=1
wait "$second" || status=1
for log in a b; do
  if [ "$status" -eq 0 ]; then
    grep -E '^(PASS|FAIL)|^Tests:' "$work/$log.log"
  else
    cat "$work/$log.log"
  fi
done
[ "$status" -eq 0 ] || { echo "target-tests: a suite failed on $target" >&2; exit 1; }
echo "== $target tests passed in $(($(date +%s) - started)) s"
