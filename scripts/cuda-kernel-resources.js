#!/usr/bin/env node
// Registers, stack and spills of every CUDA kernel for sm_90 (H100 / H200), from ptxas's own
// report (nvcc -Xptxas -v): one line per kernel, and exit status 1 when a kernel spills registers
// to local memory or needs a stack frame, which in these kernels means an array indexed at run
// time or a register budget overrun (bench/results/2026-12-01-cuda-kernel-analysis.txt).
// Needs nvcc; scripts/check-cuda-build.sh runs it.
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const sources = fs
  .readdirSync(path.join(root, 'cuda'))
  .filter((name) => name.endsWith('.cu'))
  .sort();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cuda-kernel-resources-'));

/**
 * A readable name from an Itanium-mangled one (_ZN<len><id>…<len><id>[I…]E…): the last name of
 * the nested name, with an int template argument when there is one (GenerateKernel<4>).
 */
function kernelName(mangled) {
  if (!mangled.startsWith('_ZN')) return mangled;
  let at = 3;
  let name = mangled;
  for (;;) {
    const length = /^\d+/.exec(mangled.slice(at));
    if (!length) break;
    at += length[0].length;
    name = mangled.slice(at, at + Number(length[0]));
    at += Number(length[0]);
  }
  const template = /^ILi(\d+)E/.exec(mangled.slice(at));
  return template ? `${name}<${template[1]}>` : name;
}

const kernels = [];
for (const source of sources) {
  // ptxas writes its report to stderr.
  const result = spawnSync(
    'nvcc',
    [
      '-std=c++17',
      '-O3',
      '-arch=sm_90',
      '-cubin',
      '-Xptxas',
      '-v',
      `-I${path.join(root, 'cuda')}`,
      '-o',
      path.join(work, `${source}.cubin`),
      path.join(root, 'cuda', source),
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    console.error(`cuda-kernel-resources: nvcc failed on cuda/${source}:\n${result.stderr}`);
    process.exit(1);
  }
  let current = null;
  for (const line of result.stderr.split('\n')) {
    const entry = /Compiling entry function '([^']+)' for 'sm_90'/.exec(line);
    if (entry) {
      current = { file: source, kernel: kernelName(entry[1]) };
      kernels.push(current);
      continue;
    }
    if (current === null) continue;
    const frame = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(
      line,
    );
    if (frame) {
      current.stack = Number(frame[1]);
      current.spillStores = Number(frame[2]);
      current.spillLoads = Number(frame[3]);
    }
    const used = /Used (\d+) registers/.exec(line);
    if (used) current.registers = Number(used[1]);
  }
}
fs.rmSync(work, { recursive: true, force: true });

console.log('CUDA kernels on sm_90 (ptxas -v): registers, stack bytes, spill store / load bytes');
for (const k of kernels) {
  console.log(
    `  ${`${k.file}: ${k.kernel}`.padEnd(52)} ${String(k.registers).padStart(4)} regs` +
      `  stack ${k.stack}  spills ${k.spillStores} / ${k.spillLoads}`,
  );
}
if (kernels.length === 0) {
  console.error('cuda-kernel-resources: ptxas reported no kernels');
  process.exit(1);
}
const bad = kernels.filter((k) => k.stack > 0 || k.spillStores > 0 || k.spillLoads > 0);
if (bad.length > 0) {
  console.error(
    `cuda-kernel-resources: ${bad.length} kernel(s) use a stack frame or spill registers: ` +
      bad.map((k) => k.kernel).join(', '),
  );
  process.exit(1);
}
