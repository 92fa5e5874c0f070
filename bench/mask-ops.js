#!/usr/bin/env node
// Times the addon's elementwise kernels of clipped activations (native/ops/mask_ops.h: ReLU6's
// clip, the comparisons, LogicalAnd, Select, and the one-pass gradients of ClipByValue and Relu)
// on a MobileNet-style activation of [64, 16, 16, 32] floats, half of them negative, against a
// memcpy of the same bytes measured in the same run. Prints one JSON line per kernel. Not a test.
//   node bench/mask-ops.js
// The CLI's dist/ must be built (npm run build:ts).
'use strict';
const { cpus } = require('os');
const { bestTimePerCall } = require('../dist/bench/bestTime');
const { loadBenchAddon } = require('../dist/bench/machineLimits');

const addon = loadBenchAddon();
const n = 64 * 16 * 16 * 32;
let state = 12345;
const uniform = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32;
};
const x = Float32Array.from({ length: n }, () => 8 * uniform() - 4);
const dy = Float32Array.from({ length: n }, () => uniform() - 0.5);
const out = new Float32Array(n);
const mask = Uint8Array.from({ length: n }, () => (uniform() < 0.5 ? 1 : 0));
const otherMask = Uint8Array.from({ length: n }, () => (uniform() < 0.5 ? 1 : 0));
const maskOut = new Uint8Array(n);
const zero = Float32Array.of(0);

// Each kernel with the bytes it reads and writes.
const KERNELS = {
  clipByValue: [() => addon.clipByValue(x, 0, 6, out), 8 * n],
  clipByValueBackward: [() => addon.clipByValueBackward(x, dy, 0, 6, out), 12 * n],
  reluBackward: [() => addon.reluBackward(x, dy, out), 12 * n],
  greaterEqual: [() => addon.compare('greaterEqual', x, zero, maskOut), 5 * n],
  logicalAnd: [() => addon.logicalAnd(mask, otherMask, maskOut), 3 * n],
  select: [() => addon.select(mask, x, dy, out), 13 * n],
};

const threads = addon.getThreads();
const machine = { cpu: cpus()[0]?.model ?? 'unknown', threads, floats: n };
const memcpy = addon.measureMemcpy(4 * n, threads);
console.log(
  JSON.stringify({ measure: 'memcpy', bytes: 4 * n, gbPerSecond: memcpy.gbs, ...machine }),
);
for (const [kernel, [call, bytes]] of Object.entries(KERNELS)) {
  const { ms } = bestTimePerCall(call);
  const gbPerSecond = bytes / ms / 1e6;
  console.log(
    JSON.stringify({
      measure: 'mask-op',
      kernel,
      ms,
      gbPerSecond,
      ofMemcpy: gbPerSecond / memcpy.gbs,
      ...machine,
    }),
  );
}
