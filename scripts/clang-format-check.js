#!/usr/bin/env node
// Checks that every C++ and CUDA source in native/, cuda/, scripts/, test/cuda-emulator/ and
// test/cuda-host/ is formatted by clang-format with the repository's .clang-format; `--fix`
// rewrites them instead.
// The clang-format binary comes from the pinned `clang-format` npm package, so every machine
// formats identically.
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const DIRECTORIES = ['native', 'cuda', 'scripts', 'test/cuda-emulator', 'test/cuda-host'];
const EXTENSIONS = new Set(['.cc', '.h', '.cu', '.cuh']);

function sourcesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourcesUnder(file));
    else if (EXTENSIONS.has(path.extname(entry.name))) found.push(file);
  }
  return found;
}

function clangFormatBinary() {
  try {
    return require('clang-format').getNativeBinary();
  } catch (error) {
    console.error(`clang-format-check: no clang-format binary: ${error.message}`);
    console.error('Run `npm install` (the clang-format devDependency ships the binary).');
    process.exit(2);
  }
}

function main() {
  const fix = process.argv.includes('--fix');
  const binary = clangFormatBinary();
  const files = DIRECTORIES.flatMap((dir) => sourcesUnder(path.join(ROOT, dir))).sort();
  const relative = (file) => path.relative(ROOT, file);

  if (fix) {
    const result = spawnSync(binary, ['--style=file', '-i', ...files], { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
    console.log(`clang-format: formatted ${files.length} files`);
    return;
  }

  // Compare clang-format's output with each file rather than relying on --dry-run, so that the
  // report names exactly the files that differ.
  const unformatted = [];
  for (const file of files) {
    const source = fs.readFileSync(file, 'utf8');
    // --assume-filename makes clang-format find .clang-format from the file's own directory.
    const args = ['--style=file', `--assume-filename=${file}`];
    const result = spawnSync(binary, args, { input: source, encoding: 'utf8', cwd: ROOT });
    if (result.status !== 0) {
      console.error(`clang-format failed on ${relative(file)}:\n${result.stderr}`);
      process.exit(result.status ?? 1);
    }
    if (result.stdout !== source) unformatted.push(relative(file));
  }
  if (unformatted.length > 0) {
    console.error(`clang-format: ${unformatted.length} of ${files.length} files need formatting:`);
    for (const file of unformatted) console.error(`  ${file}`);
    console.error('Run `node scripts/clang-format-check.js --fix` (or `npm run format`).');
    process.exit(1);
  }
  console.log(`clang-format: ${files.length} files formatted`);
}

main();
