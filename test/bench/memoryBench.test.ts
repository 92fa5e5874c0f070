/**
 * `bench memory`'s plumbing (its figures are a benchmark, not a test): it samples at the steps it
 * says, its growth fit is the least-squares slope of its own samples, and the training it watches
 * holds a constant number of tfjs tensors (a leak of one tensor per step would show here).
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runMemoryBench } from '../../src/bench/memoryBench';
import { useBackend } from '../../src/tfjs/backend';

test('bench memory samples every N steps, fits the growth to its samples, and leaks no tensor', async () => {
  await useBackend('cpu');
  const report = await runMemoryBench({
    steps: 40,
    sampleEvery: 10,
    warmupSteps: 10,
    engine: 'native',
    config: { rank: 2 },
    runDir: mkdtempSync(join(tmpdir(), 'superlora-memory-')),
  });
  expect(report.steps).toBe(40);
  expect(report.engine).toBe('native');
  expect(report.samples.map((s) => s.step)).toEqual([0, 10, 20, 30, 40]);
  // hidden 32, 2 layers: 4 adapted 32×32 weights (q and v) of rank 2 → 4 · 2 · 2 · 32.
  expect(report.adapterParams).toBe(4 * 2 * 2 * 32);

  const after = report.samples.filter((s) => s.step >= 10);
  const tensors = new Set(after.map((s) => s.tfjsTensors));
  expect(tensors.size).toBe(1);
  expect(report.growthPer1000Steps.tfjsTensors).toBe(0);
  // The RSS slope by hand: least squares over the post-warm-up samples, per 1000 steps.
  const mx = after.reduce((s, p) => s + p.step, 0) / after.length;
  const my = after.reduce((s, p) => s + p.rssMiB, 0) / after.length;
  const num = after.reduce((s, p) => s + (p.step - mx) * (p.rssMiB - my), 0);
  const den = after.reduce((s, p) => s + (p.step - mx) ** 2, 0);
  expect(report.growthPer1000Steps.rssMiB).toBeCloseTo((1000 * num) / den, 6);
  const rss = after.map((s) => s.rssMiB);
  expect(report.rssRangeMiB).toBeCloseTo(Math.max(...rss) - Math.min(...rss), 9);
});
