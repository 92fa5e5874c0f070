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
        const symbols = dynamicSymbols(target);
        console.log(
          `prebuild: needs ${newest(symbols, 'GLIBC')} and ${newest(symbols, 'GLIBCXX')}`,
        );
        // libstdc++ is linked dynamically on purpose: linking it statically pulls in the build
        // machine's glibc (2.34+ pthread symbols, arc4random), a higher floor than libstdc++'s.
        // GCC 12's condition_variable::wait is pinned to an old version (native/parallel/
        // thread_pool.cc); a GLIBCXX_3.4.30 here means a new call slipped past that.
        if (/GLIBCXX_3\.4\.(29|3\d)/.test(symbols)) {
          console.error('prebuild: the binary needs a GCC 12+ libstdc++ (GLIBCXX_3.4.29+)');
          process.exitCode = 1;
        }
      }
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

function dynamicSymbols(file) {
  try {
    return execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

/** The newest `${prefix}_x.y[.z]` symbol version in objdump -T output (GLIBC, GLIBCXX). */
function newest(symbols, prefix) {
  const versions = [
    ...symbols.matchAll(new RegExp(`\\b${prefix}_(\\d+)\\.(\\d+)(?:\\.(\\d+))?`, 'g')),
  ]
    .map((m) => [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  const last = versions[versions.length - 1];
  if (symbols === '') return `${prefix}: unknown (objdump failed or not found)`;
  return last
    ? `${prefix}_${last.filter((part, i) => i < 2 || part > 0).join('.')}`
    : `no ${prefix}`;
}
