/**
 * `bench train-step`'s plumbing, not its timings (benchmarks are not tests): on a tiny ViT, one
 * step each way, the records' figures are consistent with each other, the step computes the same
 * loss with and without the native kernels, and the run leaves tfjs and the pool as it found them.
 */
import { execFile } from 'child_process';
import { join } from 'path';
import { promisify } from 'util';
import * as tf from '@tensorflow/tfjs';
import type { FusedOpRecord } from '../../src/bench/fusedOpsBench';
import { loadBenchAddon } from '../../src/bench/machineLimits';
import {
  runTrainStepBench,
  stepMatmulFlop,
  trainStepModels,
  type GemmRecord,
  type StepRecord,
  type TrainStepBenchAddon,
  type TrainStepModel,
  type TrainStepRecord,
} from '../../src/bench/trainStepBench';
import {
  nativeKernelsRegistered,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/tfjs/kernels/register';
import { resolveViTConfig } from '../../src/vit/config';

const tiny: TrainStepModel = {
  name: 'tiny',
  description: 'hidden 16, 1 layer',
  config: resolveViTConfig({
    imageSize: 8,
    patchSize: 4,
    numChannels: 1,
    hiddenSize: 16,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    intermediateSize: 32,
    numLabels: 10,
  }),
  batch: 4,
};

function expectPositiveFinite(value: unknown): void {
  expect(typeof value).toBe('number');
  expect(Number.isFinite(value)).toBe(true);
  expect(value as number).toBeGreaterThan(0);
}

describe('runTrainStepBench on a tiny ViT', () => {
  const records: TrainStepRecord[] = [];
  const addon = loadBenchAddon() as TrainStepBenchAddon;
  let poolThreads = 0;
  let tensorsBefore = 0;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    unregisterNativeKernels();
    poolThreads = addon.getThreads();
    tensorsBefore = tf.memory().numTensors;
    await runTrainStepBench({
      addon,
      models: [tiny],
      threads: 2,
      steps: 1,
      stockSteps: 1,
      skipStock: false,
      gemmShapes: [
        { name: 'small', m: 24, n: 16, k: 8 },
        { name: 'transposed', m: 8, n: 12, k: 20, transposeA: true, transposeB: true },
      ],
      onRecord: (record) => records.push(record),
    });
  });

  test('one GEMM record per shape × thread count (1 and the pool), consistent', () => {
    const gemm = records.filter((record): record is GemmRecord => record.kind === 'gemm');
    expect(gemm.map((record) => [record.shape, record.threads])).toEqual([
      ['small', 1],
      ['small', 2],
      ['transposed', 1],
      ['transposed', 2],
    ]);
    for (const record of gemm) {
      expect(record.bench).toBe('train-step');
      expect(record.flop).toBe(2 * record.batch * record.m * record.n * record.k);
      for (const field of ['ms', 'gemmGflops', 'fmaPeakGflops', 'ofPeak'] as const) {
        expectPositiveFinite(record[field]);
      }
      expect(record.gemmGflops).toBeCloseTo(record.flop / (record.ms * 1e6), 9);
      expect(record.ofPeak).toBeCloseTo(record.gemmGflops / record.fmaPeakGflops, 9);
      expect(['avx512', 'avx2', 'portable']).toContain(record.machine.isa);
    }
  });

  test('fused-op records: each kernel both ways at the model’s shapes and both thread counts', () => {
    const ops = records.filter((record): record is FusedOpRecord => record.kind === 'op');
    const expected = ['attention', 'layerNorm', 'gelu'].flatMap((op) =>
      ['forward', 'backward'].flatMap((direction) =>
        [1, 2].map((threads) => [op, direction, threads]),
      ),
    );
    expect(ops.map((record) => [record.op, record.direction, record.threads])).toEqual(expected);
    // tiny: 8 px images of 4 px patches, so 4 patches + the class token; batch 4, hidden 16 over 2
    // heads, MLP 32.
    const rows = 4 * 5;
    for (const record of ops) {
      expect(record).toMatchObject({ bench: 'train-step', model: 'tiny' });
      expectPositiveFinite(record.ms);
      expect(record.nsPerElement).toBeCloseTo((record.ms * 1e6) / record.elements, 9);
      if (record.op === 'attention') {
        expect(record.shape).toBe('8×5²×8');
        expect(record.elements).toBe(rows * 16);
        // Two products of 4·2·5²·8 multiply-adds forward, four backward.
        expect(record.flop).toBe((record.direction === 'forward' ? 2 : 4) * 2 * 4 * 2 * 25 * 8);
        expect(record.gflops).toBeCloseTo((record.flop as number) / (record.ms * 1e6), 9);
        expectPositiveFinite(record.ofPeak);
      } else {
        const width = record.op === 'gelu' ? 32 : 16;
        expect([record.shape, record.elements]).toEqual([`${rows}×${width}`, rows * width]);
        expect([record.flop, record.gflops, record.ofPeak]).toEqual([null, null, null]);
      }
    }
  });

  test('the step record: positive finite times, speedup = stockMs / nativeMs', () => {
    const steps = records.filter((record): record is StepRecord => record.kind === 'step');
    expect(steps).toHaveLength(1);
    const step = steps[0] as StepRecord;
    expect(step).toMatchObject({
      bench: 'train-step',
      model: 'tiny',
      hiddenSize: 16,
      numHiddenLayers: 1,
      batch: 4,
      threads: 2,
    });
    for (const field of ['stockMs', 'nativeMs', 'speedup', 'nativeMatmulGflops'] as const) {
      expectPositiveFinite(step[field]);
    }
    expect(step.nativeTimesMs).toHaveLength(1);
    expect(step.stockTimesMs).toHaveLength(1);
    expect(step.nativeMs).toBe(Math.min(...step.nativeTimesMs));
    expect(step.stockMs).toBe(Math.min(...(step.stockTimesMs as number[])));
    expect(step.speedup).toBeCloseTo((step.stockMs as number) / step.nativeMs, 9);
    expect(step.nativeImagesPerSecond).toBeCloseTo((1000 * 4) / step.nativeMs, 6);
    expect(step.matmulFlop).toBe(stepMatmulFlop(tiny.config, 4));
    expect(step.nativeOfPeak).toBeCloseTo(step.nativeMatmulGflops / step.fmaPeakGflops, 9);
    // The warm-up step's outputs are disposed, so the timed step reuses their arrays.
    expect(step.nativeOutputsReused).toBeGreaterThan(0.5);
    expect(step.nativeOutputsReused).toBeLessThanOrEqual(1);
    // Patch embedding 16·16+16, CLS + positions 16 + 5·16, 2 layer norms per block and a final
    // one, q/k/v/output 4·(16·16+16), MLP 16·32+32 + 32·16+16, classifier 16·10+10.
    expect(step.params).toBe(272 + 96 + 6 * 16 + 4 * 272 + 544 + 528 + 170);
  });

  test('the loss after one update is the same with and without the native kernels', () => {
    const step = records.find((record): record is StepRecord => record.kind === 'step');
    expect(step).toBeDefined();
    const { nativeLossAfterStep, stockLossAfterStep } = step as StepRecord;
    expect(Number.isFinite(nativeLossAfterStep)).toBe(true);
    expect(Math.abs(nativeLossAfterStep - (stockLossAfterStep as number))).toBeLessThan(
      1e-5 * Math.max(1, Math.abs(nativeLossAfterStep)),
    );
  });

  test('leaves the kernels, the pool and tfjs’s memory as it found them', () => {
    expect(nativeKernelsRegistered()).toBe(false);
    expect(addon.getThreads()).toBe(poolThreads);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(tf.getBackend()).toBe('cpu');
  });

  test('with the native kernels registered before, they stay registered; skipStock gives nulls', async () => {
    expect(registerNativeKernels()).toBe(true);
    const skipped: TrainStepRecord[] = [];
    try {
      await runTrainStepBench({
        addon,
        models: [tiny],
        threads: 1,
        steps: 1,
        stockSteps: 1,
        skipStock: true,
        gemmShapes: [],
        onRecord: (record) => skipped.push(record),
      });
      expect(nativeKernelsRegistered()).toBe(true);
    } finally {
      unregisterNativeKernels();
    }
    // No GEMM shapes: the six fused-op records (one thread), then the step.
    expect(skipped.map((record) => record.kind)).toEqual([...Array(6).fill('op'), 'step']);
    expect(skipped[6]).toMatchObject({
      kind: 'step',
      threads: 1,
      stockMs: null,
      speedup: null,
      stockLossAfterStep: null,
    });
  });
});

test('the benchmark’s models: the base architecture at batch 128, the larger one at batch 32', () => {
  const base = resolveViTConfig({
    imageSize: 28,
    patchSize: 7,
    numChannels: 1,
    hiddenSize: 64,
    numHiddenLayers: 4,
    numAttentionHeads: 4,
    intermediateSize: 128,
    numLabels: 10,
  });
  const [first, second] = trainStepModels(base);
  expect(first).toMatchObject({ name: 'base', batch: 128, config: base });
  expect(second).toMatchObject({
    name: 'large',
    batch: 32,
    config: {
      imageSize: 28,
      patchSize: 7,
      hiddenSize: 384,
      numHiddenLayers: 6,
      numAttentionHeads: 6,
      intermediateSize: 1536,
      numLabels: 10,
    },
  });
});

test('superlora bench train-step rejects a bad flag with one line naming it', async () => {
  const run = promisify(execFile);
  const bin = join(__dirname, '..', '..', 'bin', 'superlora.js');
  const failed = await run(process.execPath, [bin, 'bench', 'train-step', '--steps', '0']).then(
    () => null,
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  expect(failed).not.toBeNull();
  expect(failed?.code).toBe(1);
  expect(failed?.stdout).toBe('');
  expect(failed?.stderr.trim().split('\n')[0]).toMatch(/--steps.*"0"/);
});
