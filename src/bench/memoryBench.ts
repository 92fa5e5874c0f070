/**
 * Memory over a long fine-tune: a tiny ViT with a SuperLoRA adapter on the native engine, trained
 * for `steps` steps on synthetic images through the real training loop, with the process's
 * resident set size, V8 heap, external memory and live tfjs tensors sampled every `sampleEvery`
 * steps. A leak shows as a slope: the report fits a line to the samples after warm-up and gives
 * the growth per 1000 steps. A benchmark, not a test: it measures and prints (`superlora bench memory`).
 */
import * as tf from '@tensorflow/tfjs';

import type { SuperLoraConfig } from '../config';
import type { EngineChoice } from '../engines/engine';
import { ModelAdapter } from '../tfjs/modelAdapter';
import { Progress, type ProgressUpdate } from '../train/progress';
import { stripesTask, stripesViT } from '../train/stripesTask';
import { train } from '../train/trainLoop';

export interface MemoryBenchOptions {
  steps?: number;
  sampleEvery?: number;
  /** Steps before the fit (allocator, JIT and heap warm-up). Default: 30% of the steps. */
  warmupSteps?: number;
  engine?: EngineChoice;
  config?: SuperLoraConfig;
  /** Where the training loop writes its log (a checkpoint only at the end). */
  runDir: string;
}

export interface MemorySample {
  step: number;
  rssMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  tfjsTensors: number;
  tfjsMiB: number;
}

export interface MemoryBenchReport {
  steps: number;
  engine: string;
  adapterParams: number;
  seconds: number;
  samples: MemorySample[];
  /** Least-squares slope of each series after warm-up, per 1000 steps. */
  growthPer1000Steps: {
    rssMiB: number;
    heapUsedMiB: number;
    externalMiB: number;
    tfjsTensors: number;
  };
  /** Largest minus smallest RSS after warm-up. */
  rssRangeMiB: number;
}

const MIB = 2 ** 20;

function sample(step: number): MemorySample {
  const usage = process.memoryUsage();
  const tfjs = tf.memory();
  return {
    step,
    rssMiB: usage.rss / MIB,
    heapUsedMiB: usage.heapUsed / MIB,
    externalMiB: usage.external / MIB,
    arrayBuffersMiB: usage.arrayBuffers / MIB,
    tfjsTensors: tfjs.numTensors,
    tfjsMiB: tfjs.numBytes / MIB,
  };
}

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function runMemoryBench(options: MemoryBenchOptions): Promise<MemoryBenchReport> {
  const steps = options.steps ?? 1000;
  const sampleEvery = options.sampleEvery ?? 50;
  const warmup = options.warmupSteps ?? Math.floor(steps * 0.3);
  const vit = stripesViT({ hiddenSize: 32, numHiddenLayers: 2 }, 1);
  const adapter = ModelAdapter.create(vit, options.config ?? { rank: 4 }, undefined, {
    engine: options.engine ?? 'native',
  });
  const samples: MemorySample[] = [sample(0)];
  // The training loop reports every step through its Progress: sample there.
  class Sampler extends Progress {
    override update(update: ProgressUpdate): void {
      if ((update.step + 1) % sampleEvery === 0) samples.push(sample(update.step + 1));
    }
    override note(): void {}
  }
  try {
    const task = stripesTask({
      forward: (pixelValues, training, seed) =>
        adapter.withDelta((weightOverride) =>
          vit.forward(pixelValues, { training, seed, weightOverride }),
        ),
      variables: new Map([['adapter', adapter.params]]),
      trainCount: 256,
      testCount: 32,
      batchSize: 16,
      augment: false,
      seed: 1,
    });
    const result = await train(task, {
      steps,
      lr: 0.05,
      momentum: 0.9,
      weightDecay: 0,
      evalEvery: 0,
      checkpointEvery: 0,
      runDir: options.runDir,
      resume: false,
      runKey: 'memory-bench',
      progress: new Sampler({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream),
    });
    const settled = samples.filter((s) => s.step >= warmup);
    const fit = (pick: (s: MemorySample) => number): number =>
      1000 * slope(settled.map((s) => [s.step, pick(s)]));
    const rss = settled.map((s) => s.rssMiB);
    return {
      steps,
      engine: adapter.engine,
      adapterParams: adapter.numParams,
      seconds: result.seconds,
      samples,
      growthPer1000Steps: {
        rssMiB: fit((s) => s.rssMiB),
        heapUsedMiB: fit((s) => s.heapUsedMiB),
        externalMiB: fit((s) => s.externalMiB),
        tfjsTensors: fit((s) => s.tfjsTensors),
      },
      rssRangeMiB: Math.max(...rss) - Math.min(...rss),
    };
  } finally {
    adapter.dispose();
    vit.dispose();
  }
}

/** The report as a table (one row per sample) and a summary line. */
export function formatMemoryReport(report: MemoryBenchReport): string {
  const lines = [
    `memory over ${report.steps} training steps (engine ${report.engine}, ${report.adapterParams} adapter params, ${report.seconds.toFixed(1)} s)`,
    'step    rss MiB  heap MiB  external MiB  tfjs tensors',
    ...report.samples.map(
      (s) =>
        `${String(s.step).padStart(5)}  ${s.rssMiB.toFixed(1).padStart(8)}  ${s.heapUsedMiB
          .toFixed(1)
          .padStart(
            8,
          )}  ${s.externalMiB.toFixed(2).padStart(12)}  ${String(s.tfjsTensors).padStart(12)}`,
    ),
    `growth per 1000 steps after warm-up: rss ${report.growthPer1000Steps.rssMiB.toFixed(2)} MiB, ` +
      `heap ${report.growthPer1000Steps.heapUsedMiB.toFixed(2)} MiB, external ${report.growthPer1000Steps.externalMiB.toFixed(2)} MiB, ` +
      `tfjs tensors ${report.growthPer1000Steps.tfjsTensors.toFixed(1)}; rss range ${report.rssRangeMiB.toFixed(1)} MiB`,
  ];
  return lines.join('\n');
}
