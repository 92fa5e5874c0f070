'use strict';
/**
 * For cuda.test.ts, in a child process: jest hands a test a copy of process.env that the addon
 * never sees, while here process.env is the process's own environment. For each config, the
 * forward ΔW on the cuda engine with SUPERLORA_CUDA_VALUES_PER_THREAD unset, "4" and "8" (a
 * SHA-256 of its bytes and the run length the plan reports), then the error an unsupported value
 * gives. Prints one JSON line.
 */
const { createHash } = require('crypto');
const path = require('path');

const { createPlan } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const small = [
  { name: 'q', shape: [8, 6], layer: 0 },
  { name: 'v', shape: [4, 6], layer: 0 },
];
// Rows that are and are not multiples of 8: the vector path and the value-by-value one.
const cases = [
  [
    { grouping: 'weight', reshape: 'natural', order: 2, splits: 1, rank: 5 },
    [
      { name: 'q', shape: [24, 48], layer: 0 },
      { name: 'v', shape: [20, 36], layer: 0 },
    ],
  ],
  [{ grouping: 3, rank: 4, shuffle: true }, small],
  [{ grouping: 'weight', splits: 2, rank: ['full', 3] }, small],
  [{ grouping: 2, rank: 3, projection: { ratio: 0.6 } }, small],
];

function forwardWith(value, config, targets) {
  if (value === undefined) delete process.env.SUPERLORA_CUDA_VALUES_PER_THREAD;
  else process.env.SUPERLORA_CUDA_VALUES_PER_THREAD = value;
  const plan = createPlan(config, targets);
  try {
    const engine = plan.engine('cuda');
    const params = Float32Array.from({ length: plan.numParams }, (_, i) => Math.sin(i + 1));
    const delta = engine.deltaInto(params, new Float32Array(plan.deltaSize));
    const digest = createHash('sha256').update(Buffer.from(delta.buffer)).digest('hex');
    return { digest, valuesPerThread: engine.cudaPlan().info().valuesPerThread };
  } finally {
    plan.dispose();
  }
}

const report = { cases: [], refused: null };
for (const [config, targets] of cases) {
  report.cases.push([undefined, '4', '8'].map((value) => forwardWith(value, config, targets)));
}
try {
  forwardWith('6', { rank: 2 }, small);
} catch (error) {
  report.refused = error.message;
}
console.log(JSON.stringify(report));
