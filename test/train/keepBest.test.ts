/**
 * Validation and model selection in the training loop: with a validation set the evaluations
 * during training use it and the test set is evaluated once, at the end; keepBest ends with the
 * weights of the best validation accuracy (the earliest of equals), exactly as they were, also
 * across a resume; early stopping ends the run after `patience` validations without a new best.
 * Validation accuracies here are scripted per step, so the best step is known.
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
const [BATCH, FEATURES, CLASSES] = [6, 4, 3];

/**
 * A linear classifier on seeded random batches; validate() answers `accuracyAtStep[s]` after s
 * completed steps (the step is known from the last batch drawn) and records the weights it saw,
 * as evaluate() does.
 */
function scriptedTask(accuracyAtStep: Record<number, number>) {
  const variables = new Map<string, tf.Variable>([
    ['weight', tf.variable(tf.tensor2d(uniforms(3, FEATURES * CLASSES), [FEATURES, CLASSES]))],
  ]);
  let completed = 0;
  const seen = { validated: new Map<number, Float32Array>(), evaluated: [] as Float32Array[] };
  const weights = () => (variables.get('weight')!.dataSync() as Float32Array).slice();
  const task: TrainTask = {
    variables,
    batchSize: BATCH,
    trainBatch(batch) {
      completed = batch + 1;
      const x = tf.tensor2d(uniforms(100 + batch, BATCH * FEATURES), [BATCH, FEATURES]);
      const labels = tf.tensor1d(
        Array.from({ length: BATCH }, (_, i) => (i + batch) % CLASSES),
        'int32',
      );
      return { logits: x.matMul(variables.get('weight')!) as tf.Tensor2D, labels };
    },
    async validate() {
      seen.validated.set(completed, weights());
      return { loss: 1, accuracy: accuracyAtStep[completed] ?? 0 };
    },
    async evaluate() {
      seen.evaluated.push(weights());
      return { loss: 2, accuracy: 0.25 };
    },
  };
  return { task, seen, weights };
}

function options(runDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    steps: 6,
    lr: 0.5,
    momentum: 0.9,
    weightDecay: 0,
    evalEvery: 2,
    checkpointEvery: 0,
    runDir,
    resume: true,
    runKey: 'keep-best',
    progress: quiet,
    ...extra,
  };
}

const runDir = () => mkdtempSync(join(tmpdir(), 'superlora-keep-best-'));

function evalRecords(dir: string): Array<Record<string, unknown>> {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.kind === 'eval');
}

test('validation during training, the test set once at the end; keepBest ends with the best step’s weights', async () => {
  const { task, seen, weights } = scriptedTask({ 2: 0.5, 4: 0.9, 6: 0.7 });
  const dir = runDir();
  const result = await train(task, options(dir, { keepBest: true }));
  expect(result.best).toEqual({ step: 4, accuracy: 0.9 });
  expect(result.validation).toEqual({ step: 6, loss: 1, accuracy: 0.7 });
  expect(result.finalEval).toEqual({ loss: 2, accuracy: 0.25 });
  // The weights now, and the weights the test saw, are step 4's exactly.
  expect(weights()).toEqual(seen.validated.get(4));
  expect(seen.evaluated).toEqual([seen.validated.get(4)]);
  expect(seen.validated.get(6)).not.toEqual(seen.validated.get(4));
  expect(evalRecords(dir)).toEqual([
    { kind: 'eval', split: 'validation', step: 1, loss: 1, accuracy: 0.5 },
    { kind: 'eval', split: 'validation', step: 3, loss: 1, accuracy: 0.9 },
    { kind: 'eval', split: 'validation', step: 5, loss: 1, accuracy: 0.7 },
    { kind: 'eval', split: 'test', step: 5, weightsOfStep: 4, loss: 2, accuracy: 0.25 },
  ]);
});

test('without keepBest the last step’s weights are tested; of equal accuracies the earliest is kept', async () => {
  const last = scriptedTask({ 2: 0.5, 4: 0.9, 6: 0.7 });
  const result = await train(last.task, options(runDir()));
  expect(result.best).toBeNull();
  expect(last.seen.evaluated).toEqual([last.seen.validated.get(6)]);

  const ties = scriptedTask({ 2: 0.8, 4: 0.8, 6: 0.8 });
  const kept = await train(ties.task, options(runDir(), { keepBest: true }));
  expect(kept.best).toEqual({ step: 2, accuracy: 0.8 });
  expect(ties.weights()).toEqual(ties.seen.validated.get(2));
});

test('a resumed run keeps the same best weights as an uninterrupted one', async () => {
  const script = { 2: 0.5, 4: 0.9, 6: 0.7 };
  const straight = scriptedTask(script);
  await train(straight.task, options(runDir(), { keepBest: true }));

  const dir = runDir();
  // Checkpoints after steps 2 and 4 (holding step 4's best); killed after step 5.
  const first = scriptedTask(script);
  await train(first.task, options(dir, { keepBest: true, checkpointEvery: 2, stopAfter: 5 }));
  const second = scriptedTask(script);
  const rest = await train(second.task, options(dir, { keepBest: true, checkpointEvery: 2 }));
  expect(rest.resumedFrom).toBe(4);
  expect(rest.best).toEqual({ step: 4, accuracy: 0.9 });
  expect(second.weights()).toEqual(straight.weights());
});

test('keepBest without a validation set is refused', async () => {
  const { task } = scriptedTask({});
  const { validate: _dropped, ...withoutValidation } = task;
  await expect(
    train(withoutValidation as TrainTask, options(runDir(), { keepBest: true })),
  ).rejects.toThrow('keepBest needs a validation set to choose the best weights by');
});

describe('early stopping', () => {
  // Validations every 2 steps of 12: the best at step 4, then 3 without beating it, then a new best.
  const script = { 2: 0.5, 4: 0.9, 6: 0.7, 8: 0.6, 10: 0.95, 12: 0.4 };
  const stopping = (dir: string, patience: number, extra: Partial<TrainOptions> = {}) =>
    options(dir, { steps: 12, keepBest: true, earlyStoppingPatience: patience, ...extra });

  test('stops after `patience` validations without a new best, with the best weights', async () => {
    const { task, seen, weights } = scriptedTask(script);
    const dir = runDir();
    const result = await train(task, stopping(dir, 2));
    expect(result).toMatchObject({
      completedSteps: 8,
      stoppedEarly: true,
      best: { step: 4, accuracy: 0.9 },
    });
    expect(weights()).toEqual(seen.validated.get(4));
    expect(seen.evaluated).toEqual([seen.validated.get(4)]);
    expect(evalRecords(dir).map((record) => [record.split, record.step])).toEqual([
      ['validation', 1],
      ['validation', 3],
      ['validation', 5],
      ['validation', 7],
      ['test', 7],
    ]);
    // More patience reaches step 10's new best and runs to the end.
    const patient = scriptedTask(script);
    const full = await train(patient.task, stopping(runDir(), 3));
    expect(full).toMatchObject({ completedSteps: 12, stoppedEarly: false, best: { step: 10 } });
    expect(patient.weights()).toEqual(patient.seen.validated.get(10));
  });

  test('a resumed run stops at the same step, and resuming a stopped run trains no further', async () => {
    const straight = scriptedTask(script);
    await train(straight.task, stopping(runDir(), 2));
    const dir = runDir();
    const first = scriptedTask(script);
    await train(first.task, stopping(dir, 2, { checkpointEvery: 2, stopAfter: 7 }));
    const second = scriptedTask(script);
    const rest = await train(second.task, stopping(dir, 2, { checkpointEvery: 2 }));
    expect(rest).toMatchObject({ resumedFrom: 6, completedSteps: 8, stoppedEarly: true });
    expect(second.weights()).toEqual(straight.weights());
    const third = scriptedTask(script);
    const again = await train(third.task, stopping(dir, 2, { checkpointEvery: 2 }));
    expect(again).toMatchObject({ resumedFrom: 8, completedSteps: 8, stoppedEarly: true });
    expect(third.seen.validated.size).toBe(0);
  });

  test('patience without keepBest, or without periodic evaluations, is refused', async () => {
    const { task } = scriptedTask(script);
    await expect(train(task, options(runDir(), { earlyStoppingPatience: 2 }))).rejects.toThrow(
      'earlyStoppingPatience needs keepBest and evaluations every N steps',
    );
    await expect(
      train(task, options(runDir(), { keepBest: true, evalEvery: 0, earlyStoppingPatience: 2 })),
    ).rejects.toThrow('earlyStoppingPatience needs keepBest');
  });
});
