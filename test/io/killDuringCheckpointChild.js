'use strict';
/**
 * A tiny training run for killDuringCheckpoint.test.ts, on the compiled package (dist/): a 1-layer
 * ViT on 8×8 stripes, a checkpoint after every step, resuming from runDir's checkpoint when there
 * is one. Usage: node killDuringCheckpointChild.js <runDir> <steps>. Prints `RESULT <json>` at the end.
 */
const path = require('path');

const dist = path.join(__dirname, '..', '..', 'dist');
const { stripesTask, stripesViT } = require(path.join(dist, 'train', 'stripesTask'));
const { train } = require(path.join(dist, 'train', 'trainLoop'));
const { Progress } = require(path.join(dist, 'train', 'progress'));

const [runDir, stepsText] = process.argv.slice(2);

async function main() {
  const vit = stripesViT({ hiddenSize: 16, numHiddenLayers: 1 }, 3);
  const task = stripesTask({
    forward: (pixelValues, training, seed) => vit.forward(pixelValues, { training, seed }),
    variables: vit.weights,
    trainCount: 40,
    testCount: 16,
    batchSize: 8,
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
