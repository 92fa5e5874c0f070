#!/usr/bin/env node
// Times the truncated SVD behind `superlora peft export` (lowRankDecomposition: the Gram matrix of
// the smaller side, its eigen-decomposition, then rank-r factors) on square targets of the sizes
// ViTs have, through the native addon and through the TypeScript reference. Prints one JSON line
// per measurement (best of REPEATS). Not a test.
//   node bench/low-rank.js [SIZES=256,768,1024] [RANK=8] [REPEATS=3]
// The CLI's dist/ must be built (npm run build:ts).
'use strict';
const { cpus } = require('os');
const { lowRankDecomposition } = require('../dist/linalg/lowRankDecomposition');
const { nativeLinalg } = require('../dist/linalg/nativeLinalg');

const sizes = (process.argv[2] ?? '256,768,1024').split(',').map(Number);
const rank = Number(process.argv[3] ?? 8);
const repeats = Number(process.argv[4] ?? 3);
if (nativeLinalg() === null) throw new Error('the addon does not load or lacks symmetricEigen');

let state = 12345;
const uniform = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32 - 0.5;
};

for (const n of sizes) {
  const matrix = Float32Array.from({ length: n * n }, uniform);
  for (const native of [true, false]) {
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const started = performance.now();
      lowRankDecomposition(matrix, n, n, { native }).factors(rank);
      best = Math.min(best, performance.now() - started);
    }
    console.log(
      JSON.stringify({
        bench: 'lowRankDecomposition',
        size: `${n}x${n}`,
        rank,
        implementation: native ? 'native' : 'typescript',
        milliseconds: Math.round(best),
        cpu: cpus()[0]?.model,
      }),
    );
  }
}
