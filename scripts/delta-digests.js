#!/usr/bin/env node
/**
 * Prints, for a few adapter configs (LoRA, LoKr, LoTR, LoNKr, and SuperLoRA with the fastfood
 * projection and the shuffle), SHA-256 digests of the native engine's ΔW and gradient: one line per
 * config. scripts/target-tests.sh compares the lines of a cross-compiled binary with those of this
 * machine's x86-64 portable path (SUPERLORA_ISA=portable): without fused multiply-adds both do the
 * same IEEE operations in the same order, so they must agree bit for bit.
 *   node scripts/delta-digests.js PACKAGE_DIR   (the folder whose src/ or dist/ index.js to load)
 */
'use strict';
const { createHash } = require('crypto');
const { existsSync } = require('fs');
const { join, resolve } = require('path');

const dir = resolve(process.argv[2] ?? join(__dirname, '..'));
const entry = ['dist', 'src'].map((d) => join(dir, d, 'index.js')).find((f) => existsSync(f));
if (entry === undefined) {
  console.error(`delta-digests: no dist/index.js or src/index.js in ${dir}`);
  process.exit(1);
}
const { createPlan } = require(entry);

const targets = [
  { name: 'q', shape: [64, 48], layer: 0 },
  { name: 'v', shape: [64, 48], layer: 0 },
  { name: 'o', shape: [48, 64], layer: 1 },
];
const configs = [
  { grouping: 'weight', reshape: 'natural', rank: 4 }, // LoRA
  { grouping: 'weight', reshape: 'natural', splits: 2, rank: ['full', 8] }, // LoKr
  { grouping: 1, order: 3, rank: 8, core: 'dense' }, // LoTR
  { grouping: 2, order: 2, splits: 3, rank: 2 }, // LoNKr
  {
    grouping: 2,
    order: 3,
    splits: 2,
    rank: [2, 'full'],
    projection: { ratio: 0.5 },
    shuffle: true,
  },
];
const digest = (values) =>
  createHash('sha256').update(Buffer.from(values.buffer, values.byteOffset, values.byteLength));

(async () => {
  for (const config of configs) {
    const plan = createPlan(config, targets);
    const params = Float32Array.from({ length: plan.numParams }, (_, i) => 0.5 * Math.sin(i + 1));
    const upstream = Float32Array.from({ length: plan.deltaSize }, (_, i) => Math.cos(i + 1));
    const delta = await plan.delta(params, { engine: 'native' });
    const gradient = await plan.deltaBackward(params, upstream, { engine: 'native' });
    const hex = (values) => digest(values).digest('hex').slice(0, 32);
    console.log(`${JSON.stringify(config)} ΔW ${hex(delta)} gradient ${hex(gradient)}`);
    plan.dispose();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
