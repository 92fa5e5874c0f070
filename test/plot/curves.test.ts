/**
 * Training curves: TensorBoard's debiased smoothing against hand-worked values, reading a run's
 * log.jsonl (1-based steps, a partial last line skipped, a garbled middle line named), the rows
 * each panel draws, the SVG's panels, and `superlora plot` on run folders.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { curveRows, curvesSpec, PANELS } from '../../src/plot/curvesSpec';
import { renderSvg } from '../../src/plot/renderVega';
import { readRunCurves, readRuns, RunLogError } from '../../src/plot/runLog';
import { smoothed } from '../../src/train/smoothing';
import { cliIn } from '../cliRunner';

const LOSS_TITLE =
  'loss (faint: training, as logged; solid: smoothed; dashed: test; dotted: validation)';
const ACCURACY_TITLE = 'accuracy (dashed: test; dotted: validation)';
const dir = mkdtempSync(join(tmpdir(), 'superlora-curves-'));
const cli = cliIn(dir);

/** A run folder whose log has `steps` training lines (loss 2 / (step + 1)) and an eval every 2. */
function writeRun(
  folder: string,
  steps: number,
  options: { gradNorm?: boolean; evals?: boolean; tail?: string } = {},
): string {
  const path = join(dir, folder);
  mkdirSync(path, { recursive: true });
  const lines: string[] = [];
  for (let step = 0; step < steps; step++) {
    lines.push(
      JSON.stringify({
        kind: 'train',
        step,
        loss: 2 / (step + 1),
        accuracy: 0.5,
        lr: 0.01 * (step + 1),
        ...(options.gradNorm === false ? {} : { gradNorm: step + 0.5 }),
        imagesPerSecond: 100,
      }),
    );
    if (options.evals !== false && step % 2 === 1) {
      lines.push(JSON.stringify({ kind: 'eval', step, accuracy: 0.1 * step, loss: 1 / step }));
    }
  }
  writeFileSync(join(path, 'log.jsonl'), `${lines.join('\n')}\n${options.tail ?? ''}`);
  return path;
}

describe('smoothing', () => {
  test('is the debiased exponential moving average', () => {
    // 0.5: averages 0.5, 1.25, 2.125 over weights 0.5, 0.75, 0.875.
    const values = smoothed([1, 2, 3], 0.5);
    expect(values[0]).toBeCloseTo(1, 12);
    expect(values[1]).toBeCloseTo(1.25 / 0.75, 12);
    expect(values[2]).toBeCloseTo(2.125 / 0.875, 12);
    expect(smoothed([4, -1, 7], 0)).toEqual([4, -1, 7]);
    // A constant stays constant from the first point (no pull towards zero).
    for (const value of smoothed([3, 3, 3, 3], 0.9)) expect(value).toBeCloseTo(3, 12);
    expect(() => smoothed([1], 1)).toThrow('Expected a smoothing in [0, 1) but received 1');
  });
});

describe('run logs', () => {
  test('steps are 1-based, evaluations kept apart, a partial last line skipped', async () => {
    const run = writeRun('partial', 4, { tail: '{"kind":"train","step":4,"lo' });
    const { train, evals } = await readRunCurves(run);
    expect(train.map((point) => point.step)).toEqual([1, 2, 3, 4]);
    expect(train[2]).toEqual({ step: 3, loss: 2 / 3, lr: 0.03, gradNorm: 2.5 });
    expect(evals).toEqual([
      { step: 2, split: 'test', loss: 1, accuracy: 0.1 },
      { step: 4, split: 'test', loss: 1 / 3, accuracy: expect.closeTo(0.3, 12) },
    ]);
    // The log file itself reads the same.
    expect((await readRunCurves(join(run, 'log.jsonl'))).train).toEqual(train);
  });

  test('a garbled line, a folder without a log, a sweep folder and an empty log are named', async () => {
    const garbled = writeRun('garbled', 2);
    const file = join(garbled, 'log.jsonl');
    writeFileSync(
      file,
      `{"kind":"train","step":0,"loss":1}\n{oops\n{"kind":"train","step":1,"loss":1}\n`,
    );
    await expect(readRunCurves(garbled)).rejects.toThrow(`${file} line 2 is not valid JSON`);
    const empty = join(dir, 'no-log');
    mkdirSync(empty);
    await expect(readRunCurves(empty)).rejects.toThrow(
      `${empty}: no log.jsonl (expected a finetune or pretrain output folder, or its log.jsonl)`,
    );
    const sweep = join(dir, 'sweep');
    mkdirSync(sweep);
    writeFileSync(join(sweep, 'results.jsonl'), '');
    await expect(readRunCurves(sweep)).rejects.toThrow(
      `${sweep} is a sweep folder: give its results.jsonl`,
    );
    const evalsOnly = join(dir, 'evals-only');
    mkdirSync(evalsOnly);
    writeFileSync(join(evalsOnly, 'log.jsonl'), '{"kind":"eval","step":1,"loss":1,"accuracy":1}\n');
    await expect(readRunCurves(evalsOnly)).rejects.toThrow(RunLogError);
  });

  test('runs are named by their folder, by their path where two names collide', async () => {
    const a = writeRun(join('x', 'same'), 2);
    const b = writeRun(join('y', 'same'), 2);
    const c = writeRun('other', 2);
    const runs = await readRuns([a, join(b, 'log.jsonl'), c]);
    expect(runs.map((run) => run.name)).toEqual([a, b, 'other']);
  });
});

describe('curves', () => {
  test('each panel draws its rows: loss as logged, smoothed and test; accuracy; lr; gradient norm', async () => {
    const runs = await readRuns([writeRun('rows', 6)]);
    const rows = curveRows(runs, 0.5);
    const of = (panel: string, series: string) =>
      rows.filter((row) => row.panel === panel && row.series === series);
    expect(of(PANELS.loss, 'training').map((row) => row.value)).toEqual(
      [1, 2, 3, 4, 5, 6].map((step) => 2 / step),
    );
    expect(of(PANELS.loss, 'training (smoothed)').map((row) => row.value)).toEqual(
      smoothed(
        [1, 2, 3, 4, 5, 6].map((step) => 2 / step),
        0.5,
      ),
    );
    expect(of(PANELS.loss, 'test').map((row) => [row.step, row.value])).toEqual([
      [2, 1],
      [4, 1 / 3],
      [6, 1 / 5],
    ]);
    expect(of(PANELS.accuracy, 'test').map((row) => row.step)).toEqual([2, 4, 6]);
    expect(of(PANELS.lr, 'training')).toHaveLength(6);
    expect(of(PANELS.gradNorm, 'training (smoothed)').map((row) => row.value)).toEqual(
      smoothed([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], 0.5),
    );
    expect(new Set(rows.map((row) => row.run))).toEqual(new Set(['rows']));
  });

  test('the SVG has a panel per metric with data, each run in the legend', async () => {
    const runs = await readRuns([writeRun('first', 8), writeRun('second', 8)]);
    const svg = await renderSvg(curvesSpec(runs, { title: 'two runs' }));
    expect(svg.startsWith('<svg')).toBe(true);
    const titles = [ACCURACY_TITLE, PANELS.lr, PANELS.gradNorm, LOSS_TITLE];
    for (const text of ['two runs', ...titles, 'first', 'second', 'step']) {
      expect(svg).toContain(`>${text}</text>`);
    }
    // Without evaluations or gradient norms those panels are left out.
    const bare = await readRuns([writeRun('bare', 8, { evals: false, gradNorm: false })]);
    const bareSvg = await renderSvg(curvesSpec(bare));
    expect(bareSvg).toContain(`>${LOSS_TITLE}</text>`);
    expect(bareSvg).not.toContain(`>${ACCURACY_TITLE}</text>`);
    expect(bareSvg).not.toContain(`>${PANELS.gradNorm}</text>`);
  });

  test('superlora plot draws run folders, and refuses a mix with sweep results', async () => {
    const a = writeRun('cli-a', 10);
    const b = writeRun('cli-b', 6, { evals: false });
    const out = join(dir, 'curves.png');
    const ok = await cli('plot', a, b, '--out', out, '--smoothing', '0');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(readFileSync(out).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(ok.stdout.split('\n')).toEqual([
      `wrote ${out} (training curves of 2 runs)`,
      // Smoothing 0: the last loss as logged, 2 / 10; the best of accuracies 0.1 · (2k − 1).
      '  cli-a: 10 steps, training loss 0.2000 (smoothed), test accuracy 90.00 % at step 10 (best 90.00 % at step 10)',
      '  cli-b: 6 steps, training loss 0.3333 (smoothed), no evaluation logged',
      '',
    ]);
    const results = join(dir, 'results.jsonl');
    writeFileSync(results, '');
    const mixed = await cli('plot', a, results, '--out', join(dir, 'x.svg'));
    expect(mixed.code).toBe(1);
    expect(mixed.stderr.trim()).toBe(
      `superlora: Expected sweep results files or training runs, not both: ${a} is a run`,
    );
    const smoothingForSweeps = await cli(
      'plot',
      results,
      '--out',
      join(dir, 'x.svg'),
      '--smoothing',
      '0.5',
    );
    expect(smoothingForSweeps.code).toBe(1);
    expect(smoothingForSweeps.stderr).toContain('--smoothing applies to training curves');
  });

  test('superlora plot knows a log by its content, names what it expected, and refuses an input given twice', async () => {
    const run = writeRun('twice', 4);
    const log = join(run, 'log.jsonl');
    // A log under another name is a run (named by its file), not sweep results.
    const copy = join(dir, 'copied-log.jsonl');
    writeFileSync(copy, readFileSync(log));
    const out = join(dir, 'copy.svg');
    const ok = await cli('plot', copy, '--out', out, '--smoothing', '0.9995');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain(`wrote ${out} (training curves of 1 run)`);
    expect(ok.stdout).toContain('  copied-log.jsonl: 4 steps');
    // Neither kind: what was expected, and what the first line is.
    const other = join(dir, 'other.jsonl');
    writeFileSync(other, '{"epoch": 1, "score": 2}\n');
    const neither = await cli('plot', other, '--out', join(dir, 'x.svg'));
    expect(neither.code).toBe(1);
    expect(neither.stderr.trim()).toBe(
      `superlora: Expected a training run (a finetune or pretrain folder, or its log.jsonl: records with "kind") or sweep results (results.jsonl: rows with "name", "params" and "accuracy") for ${other}, but its first line is an object with "epoch", "score"`,
    );
    // The same run twice (one path twice, or a folder and its own log), the same results twice.
    for (const [first, second] of [
      [log, log],
      [run, log],
      [run, `${run}/`],
    ]) {
      const twice = await cli('plot', first!, second!, '--out', join(dir, 'x.svg'));
      expect(twice.code).toBe(1);
      expect(twice.stderr.trim()).toBe(
        `superlora: ${first} and ${second} are the same run (${log}): give each run once`,
      );
    }
    const results = join(dir, 'twice-results.jsonl');
    writeFileSync(results, '');
    const sweeps = await cli(
      'plot',
      results,
      join(dir, '.', 'twice-results.jsonl'),
      '--out',
      join(dir, 'x.svg'),
    );
    expect(sweeps.code).toBe(1);
    expect(sweeps.stderr).toContain(
      `are the same results file (${results}): give each results file once`,
    );
  });

  test('--smoothing takes [0, 1), as its help says', async () => {
    const run = writeRun('smoothing', 3);
    for (const value of ['1', '-0.1', 'x']) {
      const bad = await cli('plot', run, '--out', join(dir, 'x.svg'), '--smoothing', value);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`Expected a number in [0, 1) but received "${value}"`);
    }
    const help = await cli('plot', '--help');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('gradient norm, in [0, 1)');
  });
});
