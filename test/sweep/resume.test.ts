/**
 * A sweep resumes: finished configs (rows in results.jsonl) are skipped, an interrupted one
 * continues from its checkpoint, one whose folder holds another run's checkpoint starts over, and
 * rows made with other settings are refused. Tiny runs: 3 steps on a
 * 256-image MNIST subset, evaluated on 100 images. The workers run the compiled dist/ (`npm test`
 * builds it first).
 */
import { execFile } from 'child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { availableParallelism, tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import type { SweepGrid } from '../../src/sweep/grid';
import { parseResultsJsonl } from '../../src/sweep/results';
import { parseResultsCsv } from '../../src/sweep/resultsCsv';
import { interleaveFamilies, runSweep, threadsPerJob } from '../../src/sweep/runSweep';
import type { SweepSettings } from '../../src/sweep/sweepSettings';
import { useBackend } from '../../src/tfjs/backend';
import { finetune } from '../../src/train/finetune';
import { Progress } from '../../src/train/progress';

const ROOT = join(__dirname, '..', '..');
const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
const dir = mkdtempSync(join(tmpdir(), 'superlora-sweep-'));
const out = join(dir, 'sweep');

const grid: SweepGrid = {
  name: 'tiny',
  configs: [
    {
      name: 'lora-r1',
      family: 'LoRA',
      config: { grouping: 'weight', reshape: 'natural', rank: 1 },
    },
    { name: '2d-g1-r2', family: 'SuperLoRA (2D)', config: { grouping: 1, rank: 2 } },
    { name: 'lorta3d-r1', family: 'SuperLoRA (3D/LoRTA)', config: { order: 3, rank: 1 } },
  ],
};

const settings: SweepSettings = {
  modelDir: join(ROOT, 'models', 'vit-tiny-fashion-mnist'),
  dataset: 'mnist',
  targetPatterns: ['attention\\.attention\\.(query|value)\\.weight$'],
  engine: 'auto',
  steps: 3,
  batchSize: 32,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 0,
  trainSize: 256,
  testSize: 100,
  augment: false,
  seed: 0,
  evalEvery: 0,
  checkpointEvery: 0,
  backend: 'cpu',
};

function readRows(): ReturnType<typeof parseResultsJsonl> {
  return parseResultsJsonl(readFileSync(join(out, 'results.jsonl'), 'utf8'), 'results.jsonl');
}

describe('sweep resume', () => {
  test('threads per job share the cores', () => {
    expect(threadsPerJob(1)).toBe(availableParallelism());
    expect(threadsPerJob(2)).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
    expect(threadsPerJob(10_000)).toBe(1);
  });

  test('runs one config of every family before the second of any', () => {
    const entry = (name: string, family: string) => ({ name, family, config: {} });
    const order = interleaveFamilies([
      entry('a1', 'A'),
      entry('a2', 'A'),
      entry('a3', 'A'),
      entry('b1', 'B'),
      entry('c1', 'C'),
      entry('c2', 'C'),
    ]).map((e) => e.name);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  });

  test('skips finished configs, continues an interrupted one from its checkpoint, starts over on another run’s checkpoint, refuses other settings', async () => {
    // First run stops after one config, as if interrupted between configs.
    const first = await runSweep({ grid, outDir: out, settings, jobs: 1, limit: 1 });
    expect(first.ran).toEqual(['lora-r1']);
    const [done] = readRows();
    expect(done).toMatchObject({ name: 'lora-r1', family: 'LoRA', adapterParams: 1024, steps: 3 });
    expect(done?.headParams).toBe(64 * 10 + 10);
    expect(done?.accuracy).toBeGreaterThanOrEqual(0);
    expect(done?.settings).toMatchObject({ dataset: 'mnist', steps: 3, trainSize: 256 });

    // The second config was interrupted mid-run, after its checkpoint at step 2 (the worker's own
    // finetune, stopped early).
    const partial = join(out, 'runs', '2d-g1-r2');
    const { backend: _backend, ...training } = settings;
    await useBackend('cpu');
    const interrupted = await finetune({
      ...training,
      config: grid.configs[1]!.config,
      outDir: partial,
      checkpointEvery: 1,
      resume: false,
      stopAfter: 2,
      progress: quiet,
    });
    expect(interrupted.train.completedSteps).toBe(2);
    // The third config's folder holds another config's checkpoint (lora-r1's, copied).
    const foreign = join(out, 'runs', 'lorta3d-r1');
    mkdirSync(foreign, { recursive: true });
    copyFileSync(
      join(out, 'runs', 'lora-r1', 'checkpoint.safetensors'),
      join(foreign, 'checkpoint.safetensors'),
    );

    // Resume through the CLI, two jobs at a time.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      join(ROOT, 'bin', 'superlora.js'),
      'sweep',
      '--grid',
      writeGrid(),
      '--out',
      out,
      '--jobs',
      '2',
      ...[
        '--model',
        settings.modelDir,
        '--steps',
        '3',
        '--batch-size',
        '32',
        '--optimizer',
        'sgd',
        '--lr',
        '0.05',
      ],
      ...['--train-size', '256', '--test-size', '100', '--no-augment', '--backend', 'cpu'],
    ]);
    expect(stdout).toContain('tiny: ran 2, skipped 1 finished');

    const rows = readRows();
    expect(rows.map((r) => r.name)).toEqual(['lora-r1', '2d-g1-r2', 'lorta3d-r1']);
    // The finished row is untouched (same timing), the others are new.
    expect(rows[0]).toEqual(done);
    expect(rows[1]?.adapterParams).toBe(2 * 363);
    expect(rows[2]?.adapterParams).toBe(8 * (1 + 3 * 16));
    // The interrupted config continued from its checkpoint: one more step, each step logged once.
    expect(stderr).toMatch(
      /2d-g1-r2 \(SuperLoRA \(2D\)\): 726 params, accuracy \S+, \d+ s \(resumed at step 2\)/,
    );
    const steps = readFileSync(join(partial, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; step: number })
      .filter((record) => record.kind === 'train')
      .map((record) => record.step);
    expect(steps).toEqual([0, 1, 2]);
    const summary = JSON.parse(readFileSync(join(partial, 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(3);
    expect(summary.adapterParams).toBe(726);
    // The other run's checkpoint was dropped: that config ran from the start.
    expect(stderr).toMatch(
      /lorta3d-r1 \(SuperLoRA \(3D\/LoRTA\)\): 392 params, accuracy \S+, \d+ s\n/,
    );

    // The CSV has the same rows; the plots are there.
    const csv = parseResultsCsv(readFileSync(join(out, 'results.csv'), 'utf8'), 'results.csv');
    expect(csv).toEqual(rows.map((r) => ({ ...r, settings: {} })).map(roundSeconds));
    expect(readFileSync(join(out, 'accuracy-vs-params.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'accuracy-vs-params.png')).subarray(1, 4).toString()).toBe('PNG');

    // Everything finished: nothing runs again.
    const again = await runSweep({ grid, outDir: out, settings, jobs: 2 });
    expect(again.ran).toEqual([]);
    expect(again.skipped).toEqual(grid.configs.map((c) => c.name));

    // Other steps: the rows cannot be reused, and are not silently mixed in.
    await expect(
      runSweep({ grid, outDir: out, settings: { ...settings, steps: 4 } }),
    ).rejects.toThrow(/has a row for lora-r1 made with another config or other settings/);
  });
});

function writeGrid(): string {
  const path = join(dir, 'grid.json');
  writeFileSync(path, JSON.stringify(grid));
  return path;
}

function roundSeconds<T extends { wallSeconds: number; trainSeconds: number }>(row: T): T {
  return {
    ...row,
    wallSeconds: Number(row.wallSeconds.toFixed(3)),
    trainSeconds: Number(row.trainSeconds.toFixed(3)),
  };
}
