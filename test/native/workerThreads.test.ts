/**
 * The addon in worker_threads: it is loaded once per Node.js environment (the main thread and
 * each Worker get their own exports and Plan class) over one process-wide kernel thread pool, so
 * several Workers computing at once must give the main thread's results bit for bit, a Worker
 * terminated while its native call runs must not take the process down, and Workers that load it
 * and exit, one after another, must leave it working.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';

import { createPlan } from '../../src/createPlan';
import type { SuperLoraConfig as Config, Target as TargetSpec } from '../../src/config';

// The package as it ships (npm test builds dist/ first): a Worker runs plain JavaScript.
const distIndex = path.resolve(__dirname, '..', '..', 'dist', 'index.js');

const targets: TargetSpec[] = [
  { name: 'q', shape: [48, 32], layer: 0 },
  { name: 'v', shape: [48, 32], layer: 0 },
  { name: 'o', shape: [32, 48], layer: 1 },
];
const configs: Config[] = [
  { grouping: 'weight', reshape: 'natural', rank: 4 },
  { grouping: 'weight', reshape: 'natural', splits: 2, rank: ['full', 8] },
  { grouping: 1, order: 3, rank: 8, core: 'dense' },
  {
    grouping: 2,
    order: 3,
    splits: 2,
    rank: [2, 'full'],
    projection: { ratio: 0.5 },
    shuffle: true,
  },
];

/** ΔW and its gradient from the native engine, for inputs fixed by the config's index. */
const computeSource = `
const { createPlan } = require(${JSON.stringify(distIndex)});
async function compute(config, targets, index) {
  const plan = createPlan(config, targets);
  try {
    const params = Float32Array.from({ length: plan.numParams }, (_, i) => Math.sin(i + 1 + index));
    const upstream = Float32Array.from({ length: plan.deltaSize }, (_, i) => Math.cos(i + 1 - index));
    const delta = await plan.delta(params, { engine: 'native' });
    const gradient = await plan.deltaBackward(params, upstream, { engine: 'native' });
    return { delta, gradient };
  } finally {
    plan.dispose();
  }
}
`;

interface Result {
  delta: Float32Array;
  gradient: Float32Array;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function runWorker<T>(body: string, workerData: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(`${computeSource}\n${body}`, { eval: true, workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) with no result`)));
  });
}

async function onMainThread(config: Config, index: number): Promise<Result> {
  const plan = createPlan(config, targets);
  try {
    const params = Float32Array.from({ length: plan.numParams }, (_, i) => Math.sin(i + 1 + index));
    const upstream = Float32Array.from({ length: plan.deltaSize }, (_, i) =>
      Math.cos(i + 1 - index),
    );
    return {
      delta: await plan.delta(params, { engine: 'native' }),
      gradient: await plan.deltaBackward(params, upstream, { engine: 'native' }),
    };
  } finally {
    plan.dispose();
  }
}

const computeInWorker = `
const { parentPort, workerData } = require('worker_threads');
compute(workerData.config, workerData.targets, workerData.index).then((result) =>
  parentPort.postMessage(result),
);
`;

describe('the addon in worker_threads', () => {
  test('four Workers computing at once give the main thread’s ΔW and gradients bit for bit', async () => {
    const results = await Promise.all(
      configs.map((config, index) =>
        runWorker<Result>(computeInWorker, { config, targets, index }),
      ),
    );
    for (const [index, config] of configs.entries()) {
      const expected = await onMainThread(config, index);
      const result = results[index] as Result;
      expect(result.delta.length).toBe(expected.delta.length);
      expect(sameBits(result.delta, expected.delta)).toBe(true);
      expect(sameBits(result.gradient, expected.gradient)).toBe(true);
    }
  }, 120_000);

  test('a Worker terminated while its native call runs leaves the process and the addon working', async () => {
    // A fastfood plan of 2^22 values: each call runs for milliseconds on the kernel pool.
    const big: TargetSpec[] = [{ name: 'w', shape: [2048, 2048], layer: 0 }];
    const config: Config = { grouping: 1, rank: 8, projection: { ratio: 0.01 } };
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(
        `
const { parentPort, workerData } = require('worker_threads');
const { createPlan } = require(${JSON.stringify(distIndex)});
const plan = createPlan(workerData.config, workerData.targets);
const params = new Float32Array(plan.numParams).fill(0.01);
(async () => {
  for (;;) {
    const pending = plan.delta(params, { engine: 'native' });
    parentPort.postMessage('in flight');
    await pending;
  }
})();
`,
        { eval: true, workerData: { config, targets: big } },
      );
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      expect(await worker.terminate()).toBe(1);
    }
    const expected = await onMainThread(configs[3] as Config, 3);
    const again = await onMainThread(configs[3] as Config, 3);
    expect(sameBits(again.delta, expected.delta)).toBe(true);
  }, 120_000);

  test('Workers that load the addon and exit, one after another, leave it working', async () => {
    const expected = await onMainThread(configs[0] as Config, 0);
    for (let round = 0; round < 5; round++) {
      const result = await runWorker<Result>(computeInWorker, {
        config: configs[0],
        targets,
        index: 0,
      });
      expect(sameBits(result.delta, expected.delta)).toBe(true);
    }
    const after = await onMainThread(configs[0] as Config, 0);
    expect(sameBits(after.delta, expected.delta)).toBe(true);
  }, 120_000);
});
