#!/usr/bin/env node
/**
 * `npm run prebuilds`: the prebuilt CPU binary that ships in the npm package, in
 * prebuilds/<platform>-<arch>/superlora.<libc>.node (prebuildify --napi --strip --tag-libc;
 * node-gyp-build and src/native/loadAddon.ts find it there).
 *
 * It builds in a temporary copy of the package (package.json, binding.gyp, native/), so that a
 * developer's build/ is left alone, then copies prebuilds/ back and prints the binary's glibc floor
 * (the newest GLIBC_ symbol version it needs; README "Prebuilt binaries").
 *
 * (Not `npm run prebuild`: npm would run a script of that name before every `npm run build`.)
 *
 * Portable on purpose: binding.gyp compiles the baseline objects for plain x86-64 (no -march) and
 * the AVX2 / AVX-512 kernels are chosen at run time (native/simd/isa.cc); this script refuses to
 * build when CFLAGS / CXXFLAGS ask for -march=native.
 *
 * `npm run prebuilds -- --arch arm64` on an x86-64 Linux machine cross-compiles the linux-arm64
 * binary with Debian's aarch64-linux-gnu toolchain (apt-get install g++-aarch64-linux-gnu);
 * scripts/check-prebuilt.sh linux-arm64 tests it under qemu. `npm run prebuilds -- --platform
 * win32` cross-compiles the win32-x64 binary with MinGW-w64 (scripts/mingw-build.js);
 * scripts/check-prebuilt.sh win32-x64 tests it under Wine.
 *
 * Fails when the binary needs a glibc newer than 2.29 or a GCC 12+ libstdc++: the floor the
 * README promises.
 */
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');

for (const name of ['CFLAGS', 'CXXFLAGS', 'CPPFLAGS']) {
  if (/-march=native|-mtune=native/.test(process.env[name] ?? '')) {
    console.error(
      `prebuild: ${name} asks for -march=native; a prebuilt binary must run on every CPU`,
    );
    process.exit(1);
  }
}

/** Debian's cross toolchains, by the Node.js name of the target architecture (from x86-64). */
const CROSS_PREFIXES = { arm64: 'aarch64-linux-gnu-' };
const GLIBC_FLOOR = [2, 29];

const targetPlatform = optionArgument(process.argv.slice(2), '--platform') ?? process.platform;
const targetArch = optionArgument(process.argv.slice(2), '--arch') ?? process.arch;
if (targetPlatform === 'win32' && process.platform !== 'win32') buildWindows();
else buildWithPrebuildify();

/** win32-x64 from x86-64 Linux, with MinGW-w64 (scripts/mingw-build.js). */
function buildWindows() {
  if (process.platform !== 'linux' || process.arch !== 'x64' || targetArch !== 'x64') {
    console.error(
      `prebuild: cannot cross-compile for win32-${targetArch} on ${process.platform}-${process.arch} ` +
        '(cross builds: win32-x64 on linux-x64)',
    );
    process.exit(1);
  }
  const started = Date.now();
  require('./mingw-build')
    .buildWindowsBinary()
    .then(({ path: file, imports }) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      console.log(
        `prebuild: ${path.relative(root, file)} (${fs.statSync(file).size} bytes, ${seconds} s)`,
      );
      console.log(`prebuild: imports ${imports.join(', ')}`);
    })
    .catch((error) => {
      console.error(`prebuild: ${error.message}`);
      process.exit(1);
    });
}

function buildWithPrebuildify() {
  const toolchain = crossToolchain(targetArch);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'superlora-prebuild-'));
  try {
    for (const entry of ['package.json', 'binding.gyp', 'native']) {
      fs.cpSync(path.join(root, entry), path.join(work, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');

    const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
    const started = Date.now();
    const result = spawnSync(
      process.execPath,
      // N-API binaries run on every Node version; building against the running one lets node-gyp
      // use this Node's own headers instead of downloading another version's (offline CI).
      [
        prebuildify,
        '--napi',
        '--strip',
        '--tag-libc',
        `--target=${process.versions.node}`,
        ...process.argv.slice(2),
      ],
      {
        cwd: work,
        stdio: 'inherit',
        env: {
          // node-gyp's parallel make (it builds with one job otherwise).
          JOBS: 'max',
          ...process.env,
          ...toolchain.env,
        },
      },
    );
    if (result.status !== 0) {
      console.error('prebuild: prebuildify failed (node-gyp needs python3, make and g++)');
      process.exit(result.status ?? 1);
    }

    const built = path.join(work, 'prebuilds');
    fs.cpSync(built, path.join(root, 'prebuilds'), { recursive: true });
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    for (const dir of fs.readdirSync(built)) {
      for (const file of fs.readdirSync(path.join(built, dir))) {
        const target = path.join(root, 'prebuilds', dir, file);
        console.log(
          `prebuild: ${path.relative(root, target)} (${fs.statSync(target).size} bytes, ${seconds} s)`,
        );
        if (process.platform === 'linux') {
          const symbols = dynamicSymbols(target, toolchain.objdump);
          console.log(
            `prebuild: needs ${newest(symbols, 'GLIBC')} and ${newest(symbols, 'GLIBCXX')}`,
          );
          // Math functions get new symbol versions now and then (hypot in 2.35, pinned in
          // native/linalg/symmetric_eigen.cc): a newer floor means a call slipped past.
          const glibc = newestVersion(symbols, 'GLIBC');
          if (glibc !== undefined && compareVersions(glibc, GLIBC_FLOOR) > 0) {
            console.error(`prebuild: the binary needs a glibc newer than ${GLIBC_FLOOR.join('.')}`);
            process.exitCode = 1;
          }
          // libstdc++ is linked dynamically on purpose: linking it statically pulls in the build
          // machine's glibc (2.34+ pthread symbols, arc4random), a higher floor than libstdc++'s.
          // GCC 12's condition_variable::wait is pinned to an old version (native/parallel/
          // thread_pool.cc); a GLIBCXX_3.4.30 here means a new call slipped past that.
          if (/GLIBCXX_3\.4\.(29|3\d)/.test(symbols)) {
            console.error('prebuild: the binary needs a GCC 12+ libstdc++ (GLIBCXX_3.4.29+)');
            process.exitCode = 1;
          }
          if (targetArch === 'arm64' && fusedMultiplyAdds(target, toolchain.objdump) > 0) {
            console.error(
              'prebuild: the arm64 binary has fused multiply-adds (binding.gyp turns them off)',
            );
            process.exitCode = 1;
          }
        }
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The value of `NAME X` / `NAME=X` among prebuildify's arguments. */
function optionArgument(args, name) {
  for (const [i, arg] of args.entries()) {
    if (arg === name) return args[i + 1];
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  }
  return undefined;
}

/**
 * The compilers, strip and objdump for `arch`: the machine's own for its own architecture, else
 * Debian's cross toolchain (Linux only), which must be installed.
 */
function crossToolchain(arch) {
  if (arch === process.arch) return { env: {}, objdump: 'objdump' };
  const prefix = CROSS_PREFIXES[arch];
  if (process.platform !== 'linux' || process.arch !== 'x64' || prefix === undefined) {
    console.error(
      `prebuild: cannot cross-compile for ${process.platform}-${arch} on ${process.platform}-${process.arch} ` +
        `(cross builds: linux-${Object.keys(CROSS_PREFIXES).join(', linux-')} on linux-x64)`,
    );
    process.exit(1);
  }
  const compiler = `${prefix}g++`;
  if (spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(
      `prebuild: cross-compiling for linux-${arch} needs ${compiler} ` +
        `(Debian / Ubuntu: apt-get install g++-${prefix.slice(0, -1)})`,
    );
    process.exit(1);
  }
  return {
    env: {
      CC: `${prefix}gcc`,
      CXX: compiler,
      LINK: compiler,
      AR: `${prefix}ar`,
      PREBUILD_STRIP_BIN: `${prefix}strip`,
    },
    objdump: `${prefix}objdump`,
  };
}

/** How many fused multiply-add instructions (fmadd, fmla and kin) the arm64 `file` has. */
function fusedMultiplyAdds(file, objdump) {
  const code = execFileSync(objdump, ['-d', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return (code.match(/\t(fn?madd|fn?msub|fmla|fmls)\t/g) ?? []).length;
}

function dynamicSymbols(file, objdump) {
  try {
    return execFileSync(objdump, ['-T', file], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** The newest `${prefix}_x.y[.z]` symbol version in objdump -T output, as [x, y, z]. */
function newestVersion(symbols, prefix) {
  const versions = [
    ...symbols.matchAll(new RegExp(`\\b${prefix}_(\\d+)\\.(\\d+)(?:\\.(\\d+))?`, 'g')),
  ].map((m) => [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]);
  return versions.sort(compareVersions)[versions.length - 1];
}

function compareVersions(a, b) {
  return a[0] - b[0] || a[1] - b[1] || (a[2] ?? 0) - (b[2] ?? 0);
}

/** The newest `${prefix}_x.y[.z]` symbol version in objdump -T output (GLIBC, GLIBCXX), as text. */
function newest(symbols, prefix) {
  if (symbols === '') return `${prefix}: unknown (objdump failed or not found)`;
  const last = newestVersion(symbols, prefix);
  return last
    ? `${prefix}_${last.filter((part, i) => i < 2 || part > 0).join('.')}`
    : `no ${prefix}`;
}
