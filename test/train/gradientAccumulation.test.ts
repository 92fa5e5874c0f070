/**
 * Gradient accumulation: A batches of B images per update train exactly as one batch of A·B images
 * (the mean loss's gradient is the mean of the batches' gradients), for SGD with momentum and
 * decay and for clipped AdamW; losses, accuracies and weights agree to float32 rounding.
 */
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { Progress } from '../../src/train/progress';
import { train, type TrainOptions, type TrainTask } from '../../src/train/trainLoop';
import { uniforms } from '../vit/tinyVit';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
const [ROWS, FEATURES, CLASSES] = [60, 5, 3];
const inputs = uniforms(1, ROWS * FEATURES);
const labels = Int32Array.from({ length: ROWS }, (_, i) => (i * 7) % CLASSES);

/** A linear classifier on rows [batch·B, batch·B + B) of a fixed table (cyclic). */
function linearTask(batchSize: number): TrainTask {
  const variables = new Map<string, tf.Variable>([
    ['weight', tf.variable(tf.tensor2d(uniforms(2, FEATURES * CLASSES), [FEATURES, CLASSES]))],
    ['bias', tf.variable(tf.zeros([CLASSES]))],
  ]);
  return {
    variables,
    batchSize,
    trainBatch(batch) {
      const rows = Array.from({ length: batchSize }, (_, i) => (batch * batchSize + i) % ROWS);
      const x = tf.tensor2d(
        rows.flatMap((row) => Array.from(inputs.subarray(row * FEATURES, (row + 1) * FEATURES))),
        [batchSize, FEATURES],
      );
      const logits = x.matMul(variables.get('weight')!).add(variables.get('bias')!) as tf.Tensor2D;
      return {
        logits,
        labels: tf.tensor1d(
          rows.map((row) => labels[row]!),
          'int32',
        ),
      };
    },
    async evaluate() {
      return { loss: 0, accuracy: 0 };
    },
  };
}

async function run(batchSize: number, accumulation: number, optimization: Partial<TrainOptions>) {
  const task = linearTask(batchSize);
  const runDir = mkdtempSync(join(tmpdir(), 'superlora-accumulation-'));
  const result = await train(task, {
    steps: 5,
    lr: 0.5,
    momentum: 0.9,
    weightDecay: 0.01,
    ...optimization,
    gradientAccumulationSteps: accumulation,
    evalEvery: 0,
    checkpointEvery: 0,
    runDir,
    resume: false,
    runKey: 'accumulation',
    progress: quiet,
  });
  const weights = [...task.variables.values()].map((v) => v.dataSync() as Float32Array);
  const accuracies = readFileSync(join(runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { kind: string; accuracy: number })
    .filter((record) => record.kind === 'train')
    .map((record) => record.accuracy);
  tf.dispose([...task.variables.values()]);
  return { losses: result.losses, weights, accuracies };
}

test.each<[string, Partial<TrainOptions>]>([
  ['SGD with momentum and weight decay', {}],
  ['AdamW, clipped', { optimizer: 'adamw', lr: 0.05, maxGradNorm: 0.1 }],
])('3 batches of 4 per update train as batches of 12 (%s)', async (_, optimization) => {
  const accumulated = await run(4, 3, optimization);
  const whole = await run(12, 1, optimization);
  expect(accumulated.losses).toHaveLength(5);
  accumulated.losses.forEach((loss, i) => expect(loss).toBeCloseTo(whole.losses[i]!, 5));
  // Accuracy over all 12 images of the update, in twelfths.
  expect(accumulated.accuracies).toEqual(whole.accuracies);
  for (const accuracy of accumulated.accuracies)
    expect(accuracy * 12).toBeCloseTo(Math.round(accuracy * 12), 9);
  accumulated.weights.forEach((weight, v) => {
    const want = whole.weights[v]!;
    weight.forEach((value, i) => expect(value).toBeCloseTo(want[i]!, 5));
  });
  // The updates moved the weights, or the comparison would say nothing.
  expect(Math.max(...Array.from(whole.weights[1]!, Math.abs))).toBeGreaterThan(1e-3);
});

test('a count that is not a positive integer is refused', async () => {
  await expect(run(4, 0, {})).rejects.toThrow(
    'Expected a positive integer gradientAccumulationSteps but received 0',
  );
});
