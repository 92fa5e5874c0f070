/**
 * A loss that stops being finite: an error naming the step and rate, or, for the learning-rate
 * range test (stopOnDivergence), the end of the run with the finite losses before it; and the
 * range test's per-step rates (learningRateAt) replace the schedule.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { Progress } from '../../src/train/progress';
import { train, type TrainOptions, type TrainTask } from '../../src/train/trainLoop';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

/** Logits w · x whose batch 3 holds a NaN; records the weight before each batch. */
function task(): { task: TrainTask; rates: number[] } {
  const weight = tf.variable(tf.tensor2d([0.1, -0.2, 0.3, 0.05], [2, 2]));
  const seen: number[] = [];
  return {
    rates: seen,
    task: {
      variables: new Map([['weight', weight]]),
      batchSize: 2,
      trainBatch(batch) {
        seen.push((weight.dataSync() as Float32Array)[0]!);
        const x = tf.tensor2d(batch === 3 ? [1, NaN, 0, 1] : [1, 2, 0, 1], [2, 2]);
        return { logits: x.matMul(weight) as tf.Tensor2D, labels: tf.tensor1d([0, 1], 'int32') };
      },
      async evaluate() {
        return { loss: 0, accuracy: 0 };
      },
    },
  };
}

const options = (extra: Partial<TrainOptions>): TrainOptions => ({
  steps: 6,
  lr: 0.1,
  momentum: 0,
  weightDecay: 0,
  evalEvery: 0,
  checkpointEvery: 0,
  runDir: mkdtempSync(join(tmpdir(), 'superlora-divergence-')),
  resume: false,
  runKey: 'divergence',
  progress: quiet,
  ...extra,
});

test('a non-finite loss is an error naming the step and the rate', async () => {
  await expect(train(task().task, options({}))).rejects.toThrow(
    /^The loss became NaN at step 4 \(lr /,
  );
});

test('with clipping, a non-finite gradient is still reported at its step, its norm logged', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'superlora-divergence-clip-'));
  await expect(train(task().task, options({ maxGradNorm: 1, runDir }))).rejects.toThrow(
    /^The loss became NaN at step 4 \(lr /,
  );
  const norms = readFileSync(join(runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { gradNorm: number }).gradNorm);
  expect(norms).toHaveLength(3);
  expect(norms.every((norm) => Number.isFinite(norm) && norm > 0)).toBe(true);
});

test('with stopOnDivergence the run ends there, keeping the finite losses, at the rates given', async () => {
  const rates = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32];
  const result = await train(
    task().task,
    options({ stopOnDivergence: true, learningRateAt: (step) => rates[step]! }),
  );
  expect(result.completedSteps).toBe(3);
  expect(result.losses).toHaveLength(3);
  expect(result.losses.every(Number.isFinite)).toBe(true);
  expect(result.finalEval).toBeNull();
});

test('a probe run logs its steps and nothing else: no evaluation, no checkpoint, not even at the end', async () => {
  let evaluations = 0;
  const probed = task().task;
  probed.evaluate = async () => {
    evaluations++;
    return { loss: 0, accuracy: 0 };
  };
  const runDir = mkdtempSync(join(tmpdir(), 'superlora-probe-'));
  const result = await train(probed, options({ steps: 2, probe: true, runDir }));
  expect(result.completedSteps).toBe(2);
  expect(result.finalEval).toBeNull();
  expect(evaluations).toBe(0);
  expect(readdirSync(runDir)).toEqual(['log.jsonl']);
  const kinds = readFileSync(join(runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { kind: string }).kind);
  expect(kinds).toEqual(['train', 'train']);
  await expect(train(probed, options({ probe: true, evalEvery: 2 }))).rejects.toThrow(
    'A probe run neither evaluates nor checkpoints nor keeps weights',
  );
});
