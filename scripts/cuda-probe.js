#!/usr/bin/env node
// Loads the binary named by SUPERLORA_BINARY in this (child) process and prints one JSON line:
// its capabilities, what cudaFwht does without a device, and, when there are devices, how
// cudaFwht compares with the CPU fwht. Run in a child so that a crash in the CUDA build fails
// the caller's check instead of taking the caller down.
// Used by scripts/check-cuda-build.sh and test/native/cuda.test.ts.
'use strict';

const file = process.env.SUPERLORA_BINARY;
if (!file) {
  console.error('cuda-probe: set SUPERLORA_BINARY to the .node file to probe');
  process.exit(2);
}

const addon = require(file);
const capabilities = addon.capabilities();
const report = { path: file, capabilities, checks: [] };

/** Deterministic small integers in [-8, 8]: every partial sum is exact in float32. */
function integerData(length, seed) {
  const data = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = ((state >>> 24) % 17) - 8;
  }
  return data;
}

function describeError(action) {
  try {
    action();
    return null;
  } catch (error) {
    return { name: error.name, message: error.message, isError: error instanceof Error };
  }
}

// Argument errors come before any device work, with or without a device.
report.badSizeError = describeError(() => addon.cudaFwht(new Float32Array(4), 3));

if (capabilities.cudaDevices.length === 0) {
  report.noDeviceError = describeError(() => addon.cudaFwht(new Float32Array(8), 8));
} else {
  // Sizes on both sides of the shared-memory tile (2^15 floats on sm_80 / sm_90, less on other
  // GPUs), batches that leave a short last tile, rows long enough for the column pass, and full
  // tiles of short rows (2^5 and 2^11 floats: the register tile's early exits).
  const cases = [
    [1, 5],
    [2, 2049],
    [4, 3],
    [32, 7],
    [32, 2048],
    [1024, 5],
    [2048, 33],
    [4096, 3],
    [8192, 2],
    [1 << 14, 3],
    [1 << 15, 3],
    [1 << 16, 2],
    [1 << 20, 2],
    [1 << 21, 1], // |sums| ≤ 8 · 2^21 = 2^24: still exact in float32
  ];
  for (const [size, rows] of cases) {
    const expected = integerData(size * rows, size + rows);
    const actual = expected.slice();
    addon.fwht(expected, size);
    addon.cudaFwht(actual, size);
    let mismatches = 0;
    for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) mismatches++;
    report.checks.push({ size, rows, mismatches });
  }
}

console.log(JSON.stringify(report));
