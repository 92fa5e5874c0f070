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
const { stripesDataset } = require(path.join(dist, 'data', 'stripesDataset'));

const [runDir, stepsText] = process.argv.slice(2);

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
    train: stripesDataset(40, 8, 4, 1),
    test: stripesDataset(16, 8, 4, 2),
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
