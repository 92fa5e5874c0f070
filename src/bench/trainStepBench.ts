/**
 * `bench train-step`: one fine-tuning step of a ViT (forward, backward, SGD-momentum update of every
 * weight) on tfjs's cpu backend, timed with tfjs's own cpu kernels ("stock") and with superlora's
 * native kernels (src/tfjs/kernels/), and the native GEMM under them as GFLOP/s against the FMA
 * peak measured in the same run (DESIGN.md "Conventions"). It measures; it asserts nothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { Addon } from '../native/addonTypes';
import {
  nativeKernelsRegistered,
  nativeKernelsStatus,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../tfjs/kernels/register';
import { outputPoolStats } from '../tfjs/kernels/outputPool';
import { crossEntropy } from '../train/trainLoop';
import { SgdMomentum } from '../train/sgdMomentum';
import { patchGrid, resolveViTConfig, type ViTConfig } from '../vit/config';
import { createViT } from '../vit/model';
import { describeMachine, type BenchAddon, type MachineDescription } from './machineLimits';
import { bestTimePerCall } from './bestTime';
import { fusedOpCases, timeFusedOp, type FusedOpRecord, type FusedOpsAddon } from './fusedOpsBench';
import { benchValues } from './benchValues';

/** The addon calls this benchmark makes: the probes, the pool and the GEMM. */
export type TrainStepBenchAddon = BenchAddon & FusedOpsAddon & Pick<Addon, 'gemm'>;

/** Timed steps after the warm-up, unless the caller asks otherwise. */
export const DEFAULT_STEPS = 5;
/** tfjs's own kernels take seconds per step at these sizes, so they get fewer timed steps. */
export const DEFAULT_STOCK_STEPS = 2;
/** FMA-peak probes per thread count; the best is kept (the least disturbed on a shared machine). */
const PEAK_ROUNDS = 5;
const LEARNING_RATE = 0.01;
const MOMENTUM = 0.9;

/** One ViT to time a step of. */
export interface TrainStepModel {
  name: string;
  description: string;
  /** The architecture; numLabels is the classifier's width. */
  config: ViTConfig;
  /** Images per step. */
  batch: number;
}

/** The two models of the benchmark: `base` (the shipped ViT's architecture) and a larger one. */
export function trainStepModels(base: ViTConfig): TrainStepModel[] {
  const large = resolveViTConfig({
    ...base,
    hiddenSize: 384,
    numHiddenLayers: 6,
    numAttentionHeads: 6,
    intermediateSize: 1536,
  });
  return [
    {
      name: 'base',
      description: `the shipped base ViT's architecture (${shortConfig(base)}), batch 128`,
      config: base,
      batch: 128,
    },
    {
      name: 'large',
      description: `${shortConfig(large)}, batch 32`,
      config: large,
      batch: 32,
    },
  ];
}

export function shortConfig(config: ViTConfig): string {
  return (
    `image ${config.imageSize}, patch ${config.patchSize}, hidden ${config.hiddenSize}, ` +
    `${config.numHiddenLayers} layers, ${config.numAttentionHeads} heads, MLP ${config.intermediateSize}`
  );
}

/** A GEMM shape the native kernels run in a training step, or a reference size. */
export interface GemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
  batch?: number;
  transposeA?: boolean;
  transposeB?: boolean;
}

/**
 * 512³, the usual reference size, and the largest products of the two models' steps: the base
 * model's MLP up-projection (batch 128 × 17 tokens = 2176 rows), the large model's, and its
 * weight gradient (a long inner dimension).
 */
export const GEMM_SHAPES: readonly GemmShape[] = [
  { name: '512³', m: 512, n: 512, k: 512 },
  { name: 'base mlp up x·Wᵀ', m: 2176, n: 128, k: 64, transposeB: true },
  { name: 'large mlp up x·Wᵀ', m: 544, n: 1536, k: 384, transposeB: true },
  { name: 'large dW = dYᵀ·x', m: 1536, n: 384, k: 544, transposeA: true },
];

export interface FmaPeak {
  threads: number;
  gflops: number;
  isa: string;
}

export interface GemmRecord {
  /** Which benchmark wrote the line (bench/run-all.sh collects several in one file). */
  bench: 'train-step';
  kind: 'gemm';
  shape: string;
  m: number;
  n: number;
  k: number;
  batch: number;
  transposeA: boolean;
  transposeB: boolean;
  threads: number;
  /** 2·batch·m·n·k. */
  flop: number;
  /** Best round's time per call. */
  ms: number;
  /** flop / ms. */
  gemmGflops: number;
  /** The same, per second of this process's CPU time (all threads): steadier when preempted. */
  gemmGflopsPerCpuSecond: number;
  fmaPeakGflops: number;
  /** gemmGflops ÷ fmaPeakGflops. */
  ofPeak: number;
  machine: MachineDescription;
}

export interface StepRecord {
  bench: 'train-step';
  kind: 'step';
  model: string;
  imageSize: number;
  patchSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  numLabels: number;
  batch: number;
  /** Trained parameters (every weight of the model). */
  params: number;
  /** Kernel-pool threads of the native kernels; tfjs's own run on the JS thread. */
  threads: number;
  /** Best timed step with the native kernels (after one warm-up step), and every timed step. */
  nativeMs: number;
  nativeTimesMs: number[];
  nativeImagesPerSecond: number;
  /** Share of the native timed steps' wall time the garbage collector took. */
  nativeGcShare: number;
  /** Share of the native kernels' outputs in the timed steps that were recycled arrays. */
  nativeOutputsReused: number;
  /** Loss of the second step (after one update), with the native kernels. */
  nativeLossAfterStep: number;
  /** The same with tfjs's own kernels; null with skipStock. */
  stockMs: number | null;
  stockTimesMs: number[] | null;
  stockImagesPerSecond: number | null;
  stockGcShare: number | null;
  stockLossAfterStep: number | null;
  /** stockMs / nativeMs. */
  speedup: number | null;
  /** Matrix-product FLOP of one step (forward ×3: the backward takes both dX and dW). */
  matmulFlop: number;
  /** matmulFlop / nativeMs, and that ÷ the FMA peak at `threads`. */
  nativeMatmulGflops: number;
  nativeOfPeak: number;
  fmaPeakGflops: number;
  machine: MachineDescription;
}

export type TrainStepRecord = GemmRecord | FusedOpRecord | StepRecord;

export interface TrainStepBenchOptions {
  addon: TrainStepBenchAddon;
  models: readonly TrainStepModel[];
  /** Native-kernel pool threads for the steps; the GEMM runs at 1 and at this. */
  threads: number;
  steps: number;
  stockSteps: number;
  skipStock: boolean;
  /** GEMM shapes; default GEMM_SHAPES. */
  gemmShapes?: readonly GemmShape[];
  /** Called once the FMA peaks are measured, before anything is timed. */
  onPeaks?(peaks: readonly FmaPeak[], machine: MachineDescription): void;
  /** Called with each result as soon as it is measured. */
  onRecord(record: TrainStepRecord): void;
  /** Progress for a human; not results. */
  onProgress?(message: string): void;
}

function bestFmaPeak(addon: BenchAddon, threads: number): FmaPeak {
  let best = addon.measureFmaPeak(threads);
  for (let round = 1; round < PEAK_ROUNDS; round++) {
    const next = addon.measureFmaPeak(threads);
    if (next.gflops > best.gflops) best = next;
  }
  return { threads, gflops: best.gflops, isa: best.isa };
}

function timeGemm(
  addon: TrainStepBenchAddon,
  shape: GemmShape,
  threads: number,
  peak: FmaPeak,
  machine: MachineDescription,
): GemmRecord {
  const { m, n, k } = shape;
  const batch = shape.batch ?? 1;
  const transposeA = shape.transposeA ?? false;
  const transposeB = shape.transposeB ?? false;
  const a = benchValues(batch * m * k, 1);
  const b = benchValues(batch * k * n, 2);
  const out = new Float32Array(batch * m * n);
  const options = { batch, m, n, k, transposeA, transposeB };
  const flop = 2 * batch * m * n * k;
  addon.setThreads(threads);
  // The warm-up call also starts the pool's threads and sizes the packing buffers.
  const { ms: bestMs, cpuMs: bestCpuMs } = bestTimePerCall(() => addon.gemm(a, b, out, options));
  const gemmGflops = flop / (bestMs * 1e6);
  return {
    bench: 'train-step',
    kind: 'gemm',
    shape: shape.name,
    m,
    n,
    k,
    batch,
    transposeA,
    transposeB,
    threads,
    flop,
    ms: bestMs,
    gemmGflops,
    gemmGflopsPerCpuSecond: flop / (Math.max(bestCpuMs, 1e-6) * 1e6),
    fmaPeakGflops: peak.gflops,
    ofPeak: gemmGflops / peak.gflops,
    machine,
  };
}

/**
 * FLOP of the matrix products of one forward (patch embedding, q/k/v/output and MLP projections,
 * attention scores and context, classifier), times 3 for forward + backward (dX and dW each cost
 * a forward).
 */
export function stepMatmulFlop(config: ViTConfig, batch: number): number {
  const patches = patchGrid(config).count;
  const tokens = patches + 1;
  const h = config.hiddenSize;
  const rows = batch * tokens;
  const patchInputs = config.numChannels * config.patchSize * config.patchSize;
  const perLayer =
    2 * rows * h * h * 4 + // query, key, value, output
    2 * rows * h * config.intermediateSize * 2 + // MLP up and down
    2 * batch * tokens * tokens * h * 2; // scores q·kᵀ and context p·v, all heads together
  const forward =
    2 * batch * patches * patchInputs * h +
    config.numHiddenLayers * perLayer +
    2 * batch * h * config.numLabels;
  return 3 * forward;
}

interface StepTiming {
  bestMs: number;
  timesMs: number[];
  gcShare: number;
  /** Share of the native kernels' outputs in the timed steps that were recycled arrays. */
  outputsReused: number;
  lossAfterStep: number;
  params: number;
}

/**
 * Warm-up step, then `count` timed steps of a freshly seeded model on fixed random inputs (the
 * same for both kernel sets, so their losses can be compared); best wall time, and the garbage
 * collector's share (every tfjs cpu kernel allocates a fresh output array).
 */
async function timeSteps(model: TrainStepModel, count: number): Promise<StepTiming> {
  const { config, batch } = model;
  const vit = createViT(config, { seed: 1 });
  const optimizer = new SgdMomentum({ momentum: MOMENTUM, weightDecay: 0 });
  const variables = [...vit.weights.values()];
  const byTfName = new Map([...vit.weights].map(([name, variable]) => [variable.name, name]));
  const pixels = tf.randomNormal(
    [batch, config.numChannels, config.imageSize, config.imageSize],
    0,
    1,
    'float32',
    7,
  ) as tf.Tensor4D;
  const labels = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % config.numLabels),
    'int32',
  );
  const step = (): number => {
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(vit.forward(pixels, { training: true, seed: 1 }), labels),
      variables,
    );
    const named = new Map(
      Object.entries(grads).map(([tfName, grad]) => [byTfName.get(tfName) ?? tfName, grad]),
    );
    optimizer.apply(vit.weights, named, LEARNING_RATE);
    const loss = value.dataSync()[0] as number;
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  };
  try {
    step(); // warm-up: first-use allocations, lazy kernel setup
    let gcMs = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcMs += entry.duration;
    });
    observer.observe({ entryTypes: ['gc'] });
    const timesMs: number[] = [];
    let lossAfterStep = NaN;
    const poolBefore = outputPoolStats();
    const began = performance.now();
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const loss = step();
      timesMs.push(performance.now() - t0);
      if (i === 0) lossAfterStep = loss;
    }
    const totalMs = performance.now() - began;
    const poolAfter = outputPoolStats();
    const reused = poolAfter.reused - poolBefore.reused;
    const outputs = reused + poolAfter.allocated - poolBefore.allocated;
    // The observer hears of collections on the event loop, after the synchronous steps.
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    const params = variables.reduce((sum, variable) => sum + variable.size, 0);
    return {
      bestMs: Math.min(...timesMs),
      timesMs,
      gcShare: gcMs / totalMs,
      outputsReused: outputs === 0 ? 0 : reused / outputs,
      lossAfterStep,
      params,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([pixels, labels]);
    vit.dispose();
  }
}

/**
 * Measures the FMA peaks, the GEMM shapes, then each model's step with the native kernels and
 * with tfjs's own. Runs on tfjs's cpu backend (switching to it) and leaves the backend, the
 * kernel registration and the pool's thread count as it found them.
 */
export async function runTrainStepBench(options: TrainStepBenchOptions): Promise<void> {
  const { addon, threads } = options;
  const progress = options.onProgress ?? (() => undefined);
  if (!Number.isSafeInteger(options.steps) || options.steps < 1) {
    throw new RangeError(`Expected an integer ≥ 1 for steps but received ${options.steps}`);
  }
  if (!options.skipStock && (!Number.isSafeInteger(options.stockSteps) || options.stockSteps < 1)) {
    throw new RangeError(
      `Expected an integer ≥ 1 for stockSteps but received ${options.stockSteps}`,
    );
  }
  const threadCounts = [...new Set([1, threads])];
  const peaks = new Map<number, FmaPeak>();
  for (const count of threadCounts) {
    progress(`measuring the FMA peak with ${count} thread(s)`);
    peaks.set(count, bestFmaPeak(addon, count));
  }
  const anyPeak = peaks.get(1) as FmaPeak;
  const machine = describeMachine(addon, anyPeak.isa);
  options.onPeaks?.([...peaks.values()], machine);

  // undefined when no backend has been chosen yet: then the cpu backend stays.
  const savedBackend = tf.getBackend() as string | undefined;
  const wasRegistered = nativeKernelsRegistered();
  const savedThreads = addon.getThreads();
  try {
    for (const shape of options.gemmShapes ?? GEMM_SHAPES) {
      for (const count of threadCounts) {
        progress(`GEMM ${shape.name}, ${count} thread(s)`);
        options.onRecord(timeGemm(addon, shape, count, peaks.get(count) as FmaPeak, machine));
      }
    }
    for (const model of options.models) {
      for (const fusedOp of fusedOpCases(addon, model.config, model.batch)) {
        for (const count of threadCounts) {
          progress(`${model.name}: ${fusedOp.op} ${fusedOp.direction}, ${count} thread(s)`);
          const peak = peaks.get(count) as FmaPeak;
          options.onRecord(timeFusedOp(addon, model.name, fusedOp, peak, machine));
        }
      }
    }

    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs could not start its cpu backend');
    addon.setThreads(threads);
    const peak = peaks.get(threads) as FmaPeak;
    for (const model of options.models) {
      const { config, batch } = model;
      if (!registerNativeKernels()) {
        throw new Error(`The native tfjs kernels are unavailable: ${nativeKernelsStatus()}`);
      }
      progress(`${model.name}: 1 warm-up + ${options.steps} timed steps with the native kernels`);
      const native = await timeSteps(model, options.steps);
      let stock: StepTiming | null = null;
      if (!options.skipStock) {
        unregisterNativeKernels();
        progress(
          `${model.name}: 1 warm-up + ${options.stockSteps} timed steps with tfjs's own kernels`,
        );
        stock = await timeSteps(model, options.stockSteps);
      }
      const matmulFlop = stepMatmulFlop(config, batch);
      const nativeMatmulGflops = matmulFlop / (native.bestMs * 1e6);
      options.onRecord({
        bench: 'train-step',
        kind: 'step',
        model: model.name,
        imageSize: config.imageSize,
        patchSize: config.patchSize,
        hiddenSize: config.hiddenSize,
        numHiddenLayers: config.numHiddenLayers,
        numAttentionHeads: config.numAttentionHeads,
        intermediateSize: config.intermediateSize,
        numLabels: config.numLabels,
        batch,
        params: native.params,
        threads,
        nativeMs: native.bestMs,
        nativeTimesMs: native.timesMs,
        nativeImagesPerSecond: (1000 * batch) / native.bestMs,
        nativeGcShare: native.gcShare,
        nativeOutputsReused: native.outputsReused,
        nativeLossAfterStep: native.lossAfterStep,
        stockMs: stock?.bestMs ?? null,
        stockTimesMs: stock?.timesMs ?? null,
        stockImagesPerSecond: stock ? (1000 * batch) / stock.bestMs : null,
        stockGcShare: stock?.gcShare ?? null,
        stockLossAfterStep: stock?.lossAfterStep ?? null,
        speedup: stock ? stock.bestMs / native.bestMs : null,
        matmulFlop,
        nativeMatmulGflops,
        nativeOfPeak: nativeMatmulGflops / peak.gflops,
        fmaPeakGflops: peak.gflops,
        machine,
      });
    }
  } finally {
    addon.setThreads(savedThreads);
    if (wasRegistered) registerNativeKernels();
    else unregisterNativeKernels();
    if (savedBackend !== undefined && tf.getBackend() !== savedBackend) {
      await tf.setBackend(savedBackend);
    }
  }
}
