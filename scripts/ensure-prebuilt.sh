#!/usr/bin/env bash
# Builds prebuilds/TARGET/ (npm run prebuilds -- --platform P --arch A) when it holds no binary,
# as a release would; CI's fresh clone has none (prebuilds/ is generated, not committed). Prints
# the binary's path, relative to the package.
#   bash scripts/ensure-prebuilt.sh PLATFORM-ARCH
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: ensure-prebuilt.sh PLATFORM-ARCH}
shopt -s nullglob
binaries=(prebuilds/"$target"/*.node)
if [ ${#binaries[@]} -eq 0 ]; then
  echo "== no prebuilt binary for $target: npm run prebuilds -- --platform ${target%-*} --arch ${target##*-}" >&2
  # Through npm, which puts its bundled node-gyp on PATH for prebuildify; its output to stderr,
  # so that stdout is the path alone.
  npm run --silent prebuilds -- --platform "${target%-*}" --arch "${target##*-}" >&2
  binaries=(prebuilds/"$target"/*.node)
fi
[ ${#binaries[@]} -gt 0 ] || { echo "ensure-prebuilt: no binary in prebuilds/$target" >&2; exit 1; }
echo "${binaries[0]}"
