/**
 * The addon in worker_threads: it is loaded once per Node.js environment (the main thread and
 * each Worker get their own exports and Plan class) over one process-wide kernel thread pool, so
 * several Workers computing at once must give the main thread's results bit for bit, a Worker
 * terminated while its native call runs must not take the process down, and Workers that load it
 * and exit, one after another, must leave it working. The Workers run workerThreadsChild.js.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';

import type { SuperLoraConfig as Config, Target } from '../../src/config';

interface Result {
  delta: Float32Array;
  gradient: Float32Array;
}

const child = path.join(__dirname, 'workerThreadsChild.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { computeDelta } = require(child) as {
  computeDelta(config: Config, targets: Target[], index: number): Promise<Result>;
};

const targets: Target[] = [
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

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** computeDelta in a Worker of its own, which exits after it. */
function computeInWorker(config: Config, index: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(child, { workerData: { mode: 'compute', config, targets, index } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) with no result`)));
  });
}

describe('the addon in worker_threads', () => {
  test('four Workers computing at once give the main thread’s ΔW and gradients bit for bit', async () => {
    const results = await Promise.all(
      configs.map((config, index) => computeInWorker(config, index)),
    );
    for (const [index, config] of configs.entries()) {
      const expected = await computeDelta(config, targets, index);
      const result = results[index] as Result;
      expect(result.delta.length).toBe(expected.delta.length);
      expect(sameBits(result.delta, expected.delta)).toBe(true);
      expect(sameBits(result.gradient, expected.gradient)).toBe(true);
    }
  }, 120_000);

  test('a Worker terminated while its native call runs leaves the process and the addon working', async () => {
    const expected = await computeDelta(configs[3] as Config, targets, 3);
    // A fastfood plan of 2^22 values: each call runs for milliseconds on the kernel pool.
    const big: Target[] = [{ name: 'w', shape: [2048, 2048], layer: 0 }];
    const config: Config = { grouping: 1, rank: 8, projection: { ratio: 0.01 } };
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(child, { workerData: { mode: 'loop', config, targets: big } });
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      expect(await worker.terminate()).toBe(1);
    }
    const after = await computeDelta(configs[3] as Config, targets, 3);
    expect(sameBits(after.delta, expected.delta)).toBe(true);
    expect(sameBits(after.gradient, expected.gradient)).toBe(true);
  }, 120_000);

  test('Workers that load the addon and exit, one after another, leave it working', async () => {
    const expected = await computeDelta(configs[0] as Config, targets, 0);
    for (let round = 0; round < 5; round++) {
      const result = await computeInWorker(configs[0] as Config, 0);
      expect(sameBits(result.delta, expected.delta)).toBe(true);
    }
    const after = await computeDelta(configs[0] as Config, targets, 0);
    expect(sameBits(after.delta, expected.delta)).toBe(true);
  }, 120_000);
});
