#!/usr/bin/env node
/**
 * Resident memory over a 1000-step tiny fine-tune (src/bench/memoryBench.ts, compiled to dist/):
 *   node bench/memory.js [--steps N] [--sample-every N] [--engine native|tfjs] [--json FILE]
 * Prints a table of samples and the growth per 1000 steps after warm-up; it should stay flat.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runMemoryBench, formatMemoryReport } = require('../dist/bench/memoryBench');

function flag(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

(async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'superlora-memory-'));
  try {
    const report = await runMemoryBench({
      steps: Number(flag('--steps', '1000')),
      sampleEvery: Number(flag('--sample-every', '50')),
      engine: flag('--engine', 'native'),
      runDir,
    });
    console.log(formatMemoryReport(report));
    const json = flag('--json', undefined);
    if (json !== undefined) fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
