/**
 * The win32-x64 prebuilt binary, cross-compiled on Linux with MinGW-w64 (Debian:
 * apt-get install g++-mingw-w64-x86-64-posix): `npm run prebuilds -- --platform win32` calls
 * buildWindowsBinary(). node-gyp cannot target Windows from Linux, so this compiles binding.gyp's
 * sources with binding.gyp's defines and C++ flags itself, one compiler process per core.
 *
 * The binary links against node.exe's Node-API exports through an import library made from
 * node-api-headers' node_api.def, so it binds to the executable named node.exe: Node.js itself,
 * not a renamed host such as Electron (node-gyp's MSVC builds add a delay-load hook for those).
 * GCC's C++ runtime and winpthreads are linked statically, so it needs only KERNEL32.dll and
 * msvcrt.dll, which every Windows has; any other DLL fails the build.
 */
'use strict';
const { execFileSync, spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const PREFIX = 'x86_64-w64-mingw32-';
// The posix thread model: std::thread, std::mutex and std::condition_variable (GCC 12's win32
// model has none of them).
const COMPILER = `${PREFIX}g++-posix`;
/** The DLLs the binary may import (case-insensitively): Windows' own, and node.exe. */
const ALLOWED_IMPORTS = ['kernel32.dll', 'msvcrt.dll', 'node.exe'];

/**
 * Compiles and links prebuilds/win32-x64/superlora.node; returns its path and the DLLs it
 * imports. Throws with the compiler's output when a step fails.
 */
async function buildWindowsBinary() {
  if (spawnSync(COMPILER, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      `the win32-x64 binary needs ${COMPILER} (Debian / Ubuntu: apt-get install g++-mingw-w64-x86-64-posix)`,
    );
  }
  const gyp = bindingGyp();
  const headers = path.dirname(require.resolve('node-api-headers/package.json'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'superlora-mingw-'));
  try {
    const flags = [
      ...gyp.cflags_cc,
      `-I${require('node-addon-api').include_dir}`,
      `-I${path.join(headers, 'include')}`,
      ...gyp.defines.map((define) => `-D${expandDefine(define)}`),
    ];
    const objects = gyp.sources.map((source) =>
      path.join(work, `${source.replace(/[\\/]/g, '_')}.o`),
    );
    await runAll(
      gyp.sources.map((source, i) => [COMPILER, [...flags, '-c', source, '-o', objects[i]]]),
      os.availableParallelism(),
    );

    const importLibrary = path.join(work, 'node_api.a');
    run(`${PREFIX}dlltool`, ['-d', path.join(headers, 'def', 'node_api.def'), '-l', importLibrary]);
    const output = path.join(root, 'prebuilds', 'win32-x64', 'superlora.node');
    fs.mkdirSync(path.dirname(output), { recursive: true });
    const linked = path.join(work, 'superlora.node');
    // -static: libstdc++, libgcc and winpthreads inside the DLL; -s: stripped, as prebuildify does;
    // no link time in the PE header and a fixed image base (by default ld derives one from the
    // output's path, a temporary folder here), so that the same sources give the same bytes.
    run(COMPILER, [
      '-shared',
      '-static',
      '-s',
      '-Wl,--no-insert-timestamp',
      '-Wl,--disable-auto-image-base',
      '-o',
      linked,
      ...objects,
      importLibrary,
    ]);
    const imports = importedDlls(linked);
    const unexpected = imports.filter((dll) => !ALLOWED_IMPORTS.includes(dll.toLowerCase()));
    if (unexpected.length > 0) {
      throw new Error(`the win32-x64 binary imports ${unexpected.join(', ')}, which Windows lacks`);
    }
    fs.copyFileSync(linked, `${output}.tmp`);
    fs.renameSync(`${output}.tmp`, output);
    return { path: output, imports };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** binding.gyp's first target (the file is JSON apart from its # comment lines). */
function bindingGyp() {
  const text = fs
    .readFileSync(path.join(root, 'binding.gyp'), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const target = JSON.parse(text).targets[0];
  return { sources: target.sources, defines: target.defines, cflags_cc: target.cflags_cc };
}

/**
 * A binding.gyp define with its `<!(command)` parts replaced by the command's output, as gyp does;
 * the build variant says mingw.
 */
function expandDefine(define) {
  if (define.startsWith('SUPERLORA_BUILD_VARIANT=')) return 'SUPERLORA_BUILD_VARIANT="mingw"';
  return define.replace(/<!\((.*)\)/, (_, command) =>
    execFileSync('sh', ['-c', command], { cwd: root, encoding: 'utf8' }).trim(),
  );
}

/** The DLL names in the binary's import table. */
function importedDlls(file) {
  const dump = execFileSync(`${PREFIX}objdump`, ['-p', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return [...dump.matchAll(/DLL Name: (\S+)/g)].map((match) => match[1]);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${path.basename(command)} failed:\n${result.stderr}${result.stdout}`);
  }
}

/** Runs the commands, `jobs` at a time; rejects with the first failure's output. */
function runAll(commands, jobs) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    const startNext = () => {
      if (failed) return;
      if (next === commands.length && running === 0) return resolve();
      while (running < jobs && next < commands.length) {
        const [command, args] = commands[next++];
        running++;
        const child = spawn(command, args, { cwd: root });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('error', (error) => {
          failed = true;
          reject(error);
        });
        child.on('close', (status) => {
          running--;
          if (status !== 0) {
            failed = true;
            reject(new Error(`${args[args.indexOf('-c') + 1]} failed to compile:\n${output}`));
          } else {
            if (output) process.stderr.write(output);
            startNext();
          }
        });
      }
    };
    startNext();
  });
}

module.exports = { buildWindowsBinary };
