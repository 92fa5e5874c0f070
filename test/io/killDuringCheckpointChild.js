'use strict';
/**
 * A tiny training run for killDuringCheckpoint.test.ts, on the compiled package (dist/): a 1-layer
 * ViT on 8×8 stripes, a checkpoint after every step, resuming from runDir's checkpoint when there
 * is one. Usage: node killDuringCheckpointChild.js <runDir> <steps>. Prints `RESULT <json>` at the end.
 */
const path = require('path');

const dist = path.join(__dirname, '..', '..', 'dist');
const { createViT } = require(path.join(dist, 'vit', 'model'));
const { classificationTask } = require(path.join(dist, 'train', 'classificationTask'));
const { train } = require(path.join(dist, 'train', 'trainLoop'));
const { Progress } = require(path.join(dist, 'train', 'progress'));

const [runDir, stepsText] = process.argv.slice(2);

/** mulberry32, as test/conformance/randomConfigs.ts. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Class c lights up row c (as test/train/syntheticData.ts). */
function stripes(count, side, numClasses, seed) {
  const random = seededRandom(seed);
  const images = new Uint8Array(count * side * side);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % numClasses;
    for (let i = 0; i < side * side; i++) {
      const lit = Math.floor(i / side) % numClasses === labels[n];
      images[n * side * side + i] = Math.round(lit ? 200 + 55 * random() : 60 * random());
    }
  }
  const classNames = Array.from({ length: numClasses }, (_, c) => `stripe ${c}`);
  return {
    name: 'stripes',
    images,
    labels,
    count,
    height: side,
    width: side,
    channels: 1,
    numClasses,
    classNames,
  };
}

async function main() {
  const vit = createViT(
    {
      imageSize: 8,
      patchSize: 4,
      numChannels: 1,
      hiddenSize: 16,
      numHiddenLayers: 1,
      numAttentionHeads: 2,
      intermediateSize: 32,
      numLabels: 4,
    },
    { seed: 3 },
  );
  const task = classificationTask({
    forward: (pixelValues, training, seed) => vit.forward(pixelValues, { training, seed }),
    variables: vit.weights,
    train: stripes(40, 8, 4, 1),
    test: stripes(16, 8, 4, 2),
    batchSize: 8,
    evalBatchSize: 16,
    imageSize: 8,
    channels: 1,
    augment: { cropPadding: 1, horizontalFlip: true },
    seed: 5,
  });
  const result = await train(task, {
    steps: Number(stepsText),
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 0.01,
    evalEvery: 0,
    checkpointEvery: 1,
    runDir,
    resume: true,
    runKey: 'kill-during-checkpoint',
    progress: new Progress({ write: () => true, isTTY: false }),
  });
  process.stdout.write(
    `RESULT ${JSON.stringify({ resumedFrom: result.resumedFrom, completedSteps: result.completedSteps })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
