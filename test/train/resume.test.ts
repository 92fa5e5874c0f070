/**
 * A run interrupted after a checkpoint and resumed computes exactly the losses of an uninterrupted
 * run, and its log reads as one run.
 */
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Progress } from '../../src/train/progress';
import { stripesTask, stripesViT } from '../../src/train/stripesTask';
import { train, type TrainOptions } from '../../src/train/trainLoop';

const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);

function setup() {
  const vit = stripesViT(
    { hiddenSize: 16, numHiddenLayers: 1, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 },
    3,
  );
  const task = stripesTask({
    forward: (pixelValues, training, seed) => vit.forward(pixelValues, { training, seed }),
    variables: vit.weights,
    trainCount: 40,
    testCount: 16,
    batchSize: 8,
    augment: { cropPadding: 1, horizontalFlip: true },
    seed: 5,
  });
  return { vit, task };
}

const optimizations: [string, Partial<TrainOptions>][] = [
  ['SGD under OneCycle', {}],
  [
    'AdamW under a warmed-up cosine, clipped',
    { optimizer: 'adamw', lr: 0.01, schedule: 'cosine', warmupRatio: 0.25, maxGradNorm: 0.5 },
  ],
  ['AdamW, 3 batches per update', { optimizer: 'adamw', lr: 0.01, gradientAccumulationSteps: 3 }],
];

test.each(optimizations)(
  'resume after a checkpoint reproduces the uninterrupted loss sequence (%s)',
  async (_, optimization) => {
    const options = (runDir: string): TrainOptions => ({
      steps: 12,
      lr: 0.05,
      momentum: 0.9,
      weightDecay: 0.01,
      ...optimization,
      evalEvery: 6,
      checkpointEvery: 4,
      runDir,
      resume: true,
      runKey: 'test-run',
      progress: quiet,
    });
    const straightDir = mkdtempSync(join(tmpdir(), 'superlora-straight-'));
    const straight = setup();
    const full = await train(straight.task, options(straightDir));
    expect(full.losses).toHaveLength(12);
    straight.vit.dispose();

    const resumedDir = mkdtempSync(join(tmpdir(), 'superlora-resumed-'));
    const first = setup();
    // Dies after 7 steps: the last checkpoint holds 4 completed steps.
    const partial = await train(first.task, { ...options(resumedDir), stopAfter: 7 });
    expect(partial.completedSteps).toBe(7);
    first.vit.dispose();
    const second = setup(); // a new process: fresh weights, restored from the checkpoint
    const rest = await train(second.task, options(resumedDir));
    expect(rest.resumedFrom).toBe(4);
    expect(rest.losses).toEqual(full.losses.slice(4));
    expect(rest.finalEval).toEqual(full.finalEval);
    second.vit.dispose();

    const steps = (dir: string) =>
      readFileSync(join(dir, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as { kind: string; step: number; loss: number; gradNorm?: number },
        );
    expect(steps(resumedDir)).toEqual(
      steps(straightDir).map((record) =>
        record.kind === 'train' ? { ...record, imagesPerSecond: expect.any(Number) } : record,
      ),
    );
    if (optimization.maxGradNorm !== undefined) {
      // Clipping was active: some step's gradient norm exceeded it.
      const norms = steps(straightDir).flatMap((r) => (r.kind === 'train' ? [r.gradNorm!] : []));
      expect(Math.max(...norms)).toBeGreaterThan(optimization.maxGradNorm);
    }
  },
);

test('a checkpoint of another optimizer is refused by name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'superlora-optimizer-'));
  const a = setup();
  const options: TrainOptions = {
    steps: 2,
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 0,
    evalEvery: 0,
    checkpointEvery: 1,
    runDir: dir,
    resume: true,
    runKey: 'same key',
    progress: quiet,
  };
  await train(a.task, { ...options, stopAfter: 1 });
  await expect(train(a.task, { ...options, optimizer: 'adamw' })).rejects.toThrow(
    /checkpoint\.safetensors: Expected AdamW state \(exp_avg, exp_avg_sq\) but the checkpoint has momentum/,
  );
  a.vit.dispose();
});

test('a checkpoint from another run is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'superlora-other-'));
  const a = setup();
  await train(a.task, {
    steps: 2,
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 0,
    evalEvery: 0,
    checkpointEvery: 1,
    runDir: dir,
    resume: false,
    runKey: 'one',
    progress: quiet,
  });
  await expect(
    train(a.task, {
      steps: 2,
      lr: 0.01,
      momentum: 0.9,
      weightDecay: 0,
      evalEvery: 0,
      checkpointEvery: 1,
      runDir: dir,
      resume: true,
      runKey: 'two',
      progress: quiet,
    }),
  ).rejects.toThrow(/different run/);
  a.vit.dispose();
});

test('--resume with no checkpoint says it starts at step 0 (and a fresh run says nothing of it)', async () => {
  const a = setup();
  const written: string[] = [];
  const recording = new Progress({
    write: (text: string) => written.push(text),
    isTTY: false,
  } as unknown as NodeJS.WriteStream);
  const options = (runDir: string, resume: boolean): TrainOptions => ({
    steps: 1,
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 0,
    evalEvery: 0,
    checkpointEvery: 0,
    runDir,
    resume,
    runKey: 'fresh',
    progress: recording,
  });
  const empty = mkdtempSync(join(tmpdir(), 'superlora-nothing-to-resume-'));
  const result = await train(a.task, options(empty, true));
  expect(result.resumedFrom).toBe(0);
  expect(written).toContain(`nothing to resume: no checkpoint in ${empty}, starting at step 0\n`);
  written.length = 0;
  await train(a.task, options(mkdtempSync(join(tmpdir(), 'superlora-fresh-')), false));
  expect(written.some((line) => line.includes('nothing to resume'))).toBe(false);
  a.vit.dispose();
});
