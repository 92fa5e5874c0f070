/**
 * `superlora sweep --seeds`: one sweep per seed in its own folder, rows made with that seed, and
 * the per-config mean (checked against the rows themselves) printed and plotted in --out. Tiny
 * runs: 2 steps on a 256-image MNIST subset, evaluated on 100 images.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseResultsJsonl } from '../../src/sweep/results';
import { cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-seeds-'));
const cli = cliIn(dir);
const MODEL = join(__dirname, '..', '..', 'models', 'vit-tiny-fashion-mnist');

test('sweep --seeds runs the grid once per seed and prints and plots the mean of each config', async () => {
  writeFileSync(
    join(dir, 'grid.json'),
    JSON.stringify({
      name: 'tiny',
      configs: [{ name: '2d-g1-r2', family: 'SuperLoRA (2D)', config: { grouping: 1, rank: 2 } }],
    }),
  );
  const common = ['--grid', 'grid.json', '--model', MODEL, '--steps', '2', '--batch-size', '32'];
  const small = ['--train-size', '256', '--test-size', '100', '--no-augment', '--backend', 'cpu'];
  const result = await cli('sweep', ...common, ...small, '--seeds', '3', '5', '--out', 'out');
  expect(result.stderr).toContain('seed 5: [1/1] 2d-g1-r2');
  expect(result.code).toBe(0);

  const accuracies = [3, 5].map((seed) => {
    const path = join(dir, 'out', `seed${seed}`, 'results.jsonl');
    const [row] = parseResultsJsonl(readFileSync(path, 'utf8'), path);
    expect(row?.settings.seed).toBe(seed);
    return row?.accuracy as number;
  });
  const mean = (accuracies[0]! + accuracies[1]!) / 2;
  const std = Math.abs(accuracies[0]! - accuracies[1]!) / Math.SQRT2;
  expect(result.stdout).toContain(
    `2d-g1-r2                              726  ${(100 * mean).toFixed(2)} ± ${(100 * std).toFixed(2)} % (2)`,
  );
  expect(readFileSync(join(dir, 'out', 'accuracy-vs-params.svg'), 'utf8')).toContain(
    'mean accuracy over seeds 3, 5',
  );
  expect(existsSync(join(dir, 'out', 'accuracy-vs-params.png'))).toBe(true);

  const twice = await cli('sweep', ...common, '--seeds', '1', '1', '--out', 'again');
  expect(twice.code).toBe(1);
  expect(twice.stderr).toContain('Expected distinct --seeds but received 1 1');
});

test('sweep --validation-size --keep-best: each row records the kept weights’ validation accuracy beside the test accuracy', async () => {
  const args = ['--grid', 'grid.json', '--model', MODEL, '--steps', '2', '--batch-size', '32'];
  const small = ['--train-size', '256', '--test-size', '100', '--no-augment', '--backend', 'cpu'];
  const selection = ['--validation-size', '64', '--keep-best', '--eval-every', '1'];
  const result = await cli('sweep', ...args, ...small, ...selection, '--out', 'validated');
  expect(result.code).toBe(0);
  const path = join(dir, 'validated', 'results.jsonl');
  const [row] = parseResultsJsonl(readFileSync(path, 'utf8'), path);
  const log = readFileSync(join(dir, 'validated', 'runs', '2d-g1-r2', 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { kind: string; split?: string; accuracy?: number });
  const validations = log.filter((r) => r.kind === 'eval' && r.split === 'validation');
  expect(validations).toHaveLength(2);
  const best = Math.max(...validations.map((r) => r.accuracy as number));
  expect(row?.validationAccuracy).toBe(best);
  expect(row?.accuracy).toBe(log.find((r) => r.split === 'test')?.accuracy);
  expect(row?.settings).toMatchObject({ validationSize: 64, keepBest: true });
  expect(result.stderr).toContain(`validation ${(100 * best).toFixed(2)}%`);
  const csv = readFileSync(join(dir, 'validated', 'results.csv'), 'utf8').split('\n');
  expect(csv[0]).toContain(',accuracy,validation_accuracy,');
  expect(csv[1]).toContain(`,${row?.accuracy},${best},`);
  // Beside the test plot, the same plot of the validation accuracies.
  const validationPlot = readFileSync(
    join(dir, 'validated', 'validation-accuracy-vs-params.svg'),
    'utf8',
  );
  expect(validationPlot).toContain('validation accuracy');
  expect(readFileSync(join(dir, 'validated', 'accuracy-vs-params.svg'), 'utf8')).not.toContain(
    'validation accuracy',
  );
  expect(
    readFileSync(join(dir, 'validated', 'validation-accuracy-vs-params.png'))
      .subarray(1, 4)
      .toString(),
  ).toBe('PNG');
});
