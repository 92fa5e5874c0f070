'use strict';
/**
 * For cuda.test.ts, in a child process on the CUDA emulator with 5 MiB of device memory
 * (SUPERLORA_CUDA_EMULATOR_MEMORY_MIB=5), on the compiled package (dist/): a plan that needs more
 * (6.2 MiB) must fail with cudaMalloc's out-of-memory error and free what it had allocated, and a
 * disposed plan must free its memory: a 4.6 MiB plan is then built three times in a row. Prints
 * one JSON line.
 */
const path = require('path');

const { createPlan } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const planOf = (rows) =>
  createPlan({ grouping: 1, rank: 8 }, [{ name: 'w', shape: [rows, 1024], layer: 0 }]);
const report = { tooBig: [], fits: [] };
for (let attempt = 0; attempt < 3; attempt++) {
  const plan = planOf(768);
  try {
    plan.engine('cuda');
    report.tooBig.push(null);
  } catch (error) {
    report.tooBig.push({ name: error.name, message: error.message });
  }
  plan.dispose();
}
for (let attempt = 0; attempt < 3; attempt++) {
  const plan = planOf(576);
  try {
    report.fits.push(plan.engine('cuda').cudaPlan().info().deviceBytes);
  } catch (error) {
    report.fits.push(error.message);
  }
  plan.dispose();
}
console.log(JSON.stringify(report));
