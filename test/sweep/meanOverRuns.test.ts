/**
 * Repeats of one sweep with other seeds, read as one: per-config mean and sample standard deviation
 * (worked by hand below), configs missing from a repeat averaged over the runs that have them, and
 * sweeps that differ in more than the seed refused. `superlora plot` with several files plots the
 * means.
 */
import { execFile } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { meanOverRuns } from '../../src/sweep/meanOverRuns';
import { formatResultsJsonl, type SweepResult } from '../../src/sweep/results';
import { sweepRow } from './sweepRow';

const dir = mkdtempSync(join(tmpdir(), 'superlora-mean-'));
const BIN = join(__dirname, '..', '..', 'bin', 'superlora.js');

const row = (
  name: string,
  family: string,
  adapterParams: number,
  accuracy: number | null,
  seed: number,
): SweepResult =>
  sweepRow(name, family, adapterParams, accuracy, {
    config: { rank: adapterParams },
    steps: 300,
    settings: { steps: 300, lr: 0.3, seed },
  });

const seed0 = [
  row('lora-r1', 'LoRA', 1024, 0.5, 0),
  row('lora-r2', 'LoRA', 2048, 0.6, 0),
  row('2d-g1-r1', 'SuperLoRA (2D)', 363, 0.54, 0),
];
const seed1 = [
  row('lora-r1', 'LoRA', 1024, 0.52, 1),
  row('lora-r2', 'LoRA', 2048, 0.5, 1),
  row('2d-g1-r1', 'SuperLoRA (2D)', 363, 0.5, 1),
];
// Seed 2 did not finish lora-r2, and 2d-g1-r1 had no evaluation.
const seed2 = [
  row('lora-r1', 'LoRA', 1024, 0.54, 2),
  row('2d-g1-r1', 'SuperLoRA (2D)', 363, null, 2),
];

describe('mean over runs', () => {
  test('averages each config over the runs that evaluated it, with the sample std', () => {
    const { results, spreads } = meanOverRuns([seed0, seed1, seed2], ['s0', 's1', 's2']);
    expect(results.map((r) => r.name)).toEqual(['lora-r1', 'lora-r2', '2d-g1-r1']);
    // lora-r1: 0.50, 0.52, 0.54 → mean 0.52, deviations ∓0.02 → variance 0.0008 / 2 → std 0.02.
    const [lora1, lora2, twoD] = spreads;
    expect(lora1?.accuracies).toEqual([0.5, 0.52, 0.54]);
    expect(lora1?.mean).toBeCloseTo(0.52, 12);
    expect(lora1?.std).toBeCloseTo(0.02, 12);
    // lora-r2: 0.6, 0.5 → mean 0.55, std √((0.05² + 0.05²) / 1) = 0.0707…
    expect(lora2?.mean).toBeCloseTo(0.55, 12);
    expect(lora2?.std).toBeCloseTo(Math.SQRT2 * 0.05, 12);
    // 2d-g1-r1: the unevaluated run does not count: 0.54, 0.5 → 0.52.
    expect(twoD?.accuracies).toEqual([0.54, 0.5]);
    expect(results[2]?.accuracy).toBeCloseTo(0.52, 12);
    // A single run has no spread.
    expect(meanOverRuns([seed0], ['s0']).spreads[0]?.std).toBe(0);
    // Without validation accuracies the means have none either.
    expect(results.map((r) => r.validationAccuracy)).toEqual([null, null, null]);
  });

  test('averages the validation accuracies too, over the runs that have one', () => {
    const validated = (rows: SweepResult[], values: (number | null)[]) =>
      rows.map((r, i) => ({ ...r, validationAccuracy: values[i] ?? null }));
    const { results } = meanOverRuns(
      [
        validated(seed0, [0.4, 0.7, null]),
        validated(seed1, [0.5, 0.6, null]),
        validated(seed2, [0.9, null]),
      ],
      ['s0', 's1', 's2'],
    );
    // lora-r1: (0.4 + 0.5 + 0.9) / 3; lora-r2: (0.7 + 0.6) / 2; 2d-g1-r1: none.
    expect(results[0]?.validationAccuracy).toBeCloseTo(0.6, 12);
    expect(results[1]?.validationAccuracy).toBeCloseTo(0.65, 12);
    expect(results[2]?.validationAccuracy).toBeNull();
    // The test accuracies are unchanged by it.
    expect(results[0]?.accuracy).toBeCloseTo(0.52, 12);
  });

  test('refuses sweeps that differ in more than the seed, naming the file and the config', () => {
    const otherLr = seed1.map((r) => ({ ...r, settings: { ...r.settings, lr: 0.1 } }));
    expect(() => meanOverRuns([seed0, otherLr], ['a.jsonl', 'b.jsonl'])).toThrow(
      /b\.jsonl: config lora-r1 differs from the one in a\.jsonl in more than the seed/,
    );
    const otherConfig = seed1.map((r) => ({ ...r, config: { rank: 99 } }));
    expect(() => meanOverRuns([seed0, otherConfig], ['a.jsonl', 'b.jsonl'])).toThrow(
      /config lora-r1 differs/,
    );
  });

  test('superlora plot with several results files plots and prints the means', async () => {
    const paths = [seed0, seed1, seed2].map((rows, seed) => {
      const path = join(dir, `seed${seed}.jsonl`);
      writeFileSync(path, formatResultsJsonl(rows));
      return path;
    });
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      'plot',
      ...paths,
      '--out',
      join(dir, 'mean.svg'),
    ]);
    expect(stdout).toContain('(3 configs, mean of 3 sweeps)');
    expect(stdout).toMatch(/lora-r1\s+1024 {2}52\.00 ± 2\.00 % \(3\)/);
    expect(stdout).toMatch(/2d-g1-r1\s+363 {2}52\.00 ± 2\.83 % \(2\)/);
    // LoRA's mean frontier: 52 % at 1024, 55 % at 2048; 2D reaches 52 % with 363 → 2.82×.
    expect(stdout).toContain('SuperLoRA (2D): 2.82×, not reached');
  });
});
