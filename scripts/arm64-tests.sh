#!/usr/bin/env bash
# The test suites of the native code (engines against each other and the SPEC's vectors, the
# native tfjs kernels bit for bit against tfjs's, the kernels, the thread pool, linalg) run on the
# linux-arm64 prebuilt binary, by the linux-arm64 Node.js under qemu (scripts/target-node.sh): the
# same C++ compiled by another compiler back end for another instruction set (no AVX2 / AVX-512
# paths, NEON through auto-vectorisation), checked by the same assertions. Before them, ΔW and
# gradients of five configs against this machine's x86-64 portable path, bit for bit
# (scripts/delta-digests.js; binding.gyp builds arm64 without fused multiply-adds). Suites that
# start child processes are left out (qemu-user cannot run the arm64 node a child would be started
# with). Prints its wall time.
#   bash scripts/arm64-tests.sh
# The TypeScript is compiled here, on this machine's node; jest then runs the JavaScript under
# qemu, in two processes at once.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
started=$(date +%s)
target_node=$(bash scripts/target-node.sh arm64)

shopt -s nullglob
binaries=(prebuilds/linux-arm64/*.node)
if [ ${#binaries[@]} -eq 0 ]; then
  echo "== no prebuilt binary for linux-arm64: npm run prebuilds -- --arch arm64"
  npm run --silent prebuilds -- --arch arm64
fi

# Two lists of about equal time (7–8 minutes each under qemu on the 2-core machine), run at once.
# Left out for time: test/native/engine.test.ts and fastfood.test.ts (over 400 s each under qemu;
# the conformance suite covers both engines' ΔW, fastfood included, against float64).
suites_a=(
  test/tfjs/kernels.test.ts
  test/conformance/native.test.ts
  test/vectors.test.ts
  test/rng.test.ts
  test/linalg/symmetricEigen.test.ts
  test/linalg/lowRankDecomposition.test.ts
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

work=$(mktemp -d "${TMPDIR:-/tmp}/superlora-arm64-tests-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "== a copy of the package with prebuilds/linux-arm64 only, npm ci for arm64"
cp -r package.json package-lock.json tsconfig.json src test "$work/"
mkdir -p "$work/prebuilds" && cp -r prebuilds/linux-arm64 "$work/prebuilds/"
(cd "$work" && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error \
  --os=linux --cpu=arm64)

echo "== compile the TypeScript (here), beside its sources"
cat >"$work/tsconfig.arm64.json" <<'JSON'
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "noEmit": false, "rootDir": ".", "outDir": ".", "sourceMap": false,
                       "declaration": false, "incremental": false },
  "include": ["src/**/*.ts", "test/**/*.ts"],
  "exclude": ["node_modules"]
}
JSON
(cd "$work" && node "$root/node_modules/typescript/bin/tsc" -p tsconfig.arm64.json)
cat >"$work/jest.arm64.config.js" <<'JS'
module.exports = { testEnvironment: 'node', transform: {}, testTimeout: 1200000 };
JS

loaded=$(cd "$work" && "$target_node" -p "require('./src/native/loadAddon').addonInfo().path")
[ "$loaded" = "$work/prebuilds/linux-arm64/superlora.glibc.node" ] ||
  { echo "arm64-tests: the tests would load $loaded, not the linux-arm64 prebuilt binary" >&2; exit 1; }

echo "== ΔW and gradients on linux-arm64 against this machine's x86-64 portable path, bit for bit"
host_binary=""
for candidate in build/Release/superlora.node prebuilds/linux-x64/superlora.glibc.node; do
  [ -e "$candidate" ] && { host_binary="$root/$candidate"; break; }
done
[ -n "$host_binary" ] ||
  { echo "arm64-tests: no x86-64 binary to compare with (npm run build:native)" >&2; exit 1; }
SUPERLORA_BINARY="$host_binary" SUPERLORA_ISA=portable \
  node scripts/delta-digests.js "$work" >"$work/digests-x64.txt"
(cd "$work" && "$target_node" "$root/scripts/delta-digests.js" "$work") >"$work/digests-arm64.txt"
if ! diff "$work/digests-x64.txt" "$work/digests-arm64.txt"; then
  echo "arm64-tests: linux-arm64 and x86-64 (portable) ΔW or gradients differ (above)" >&2
  exit 1
fi
echo "   $(wc -l <"$work/digests-arm64.txt") configs agree"

echo "== jest under qemu: $("$target_node" -p '`${process.platform}-${process.arch}, Node.js ${process.version}`'), two processes"
jest_arm64() {
  (cd "$work" && "$target_node" node_modules/jest/bin/jest.js --config jest.arm64.config.js \
    --runInBand --ci "${@/%.ts/.js}")
}
jest_arm64 "${suites_a[@]}" >"$work/a.log" 2>&1 &
first=$!
jest_arm64 "${suites_b[@]}" >"$work/b.log" 2>&1 &
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
[ "$status" -eq 0 ] || { echo "arm64-tests: a suite failed on linux-arm64" >&2; exit 1; }
echo "== arm64 tests passed in $(($(date +%s) - started)) s"
