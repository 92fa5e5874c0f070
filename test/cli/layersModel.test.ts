/**
 * The CLI on a tfjs Layers model as a user has one (model.json + weight shard, here an MLP on
 * flattened 28×28 digits ending in a softmax Dense layer): finetune trains an adapter on the
 * layers before the head and a new head; evaluate with the run folder, and merge, then evaluate
 * the merged model.json, give the run's accuracy; that accuracy is recounted here from
 * `model.predict` of the merged model on the raw pixels / 255 (no superlora code on the input
 * path); predict labels an image file. Bad input is refused with one line.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { subset } from '../../src/data/dataset';
import { loadDataset } from '../../src/data/loadDataset';
import { layersModelFiles } from '../../src/io/layersModelFiles';
import { readHeadFile } from '../../src/train/headFile';
import { cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-layers-cli-'));
const cli = cliIn(dir);
const TEST_SIZE = 200;
const HIDDEN = 16;

async function ok(...args: string[]): Promise<string> {
  const result = await cli(...args);
  // stderr has finetune's progress lines, and nothing else.
  expect(result.stderr).not.toMatch(/rror|^\s+at /m);
  expect(result.code).toBe(0);
  return result.stdout;
}

/** `superlora evaluate` on the test subset: the accuracy it reports. */
async function evaluate(...model: string[]): Promise<number> {
  const stdout = await ok(
    'evaluate',
    ...model,
    ...['--test-size', String(TEST_SIZE), '--backend', 'cpu', '--json'],
  );
  return (JSON.parse(stdout) as { accuracy: number }).accuracy;
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const mlp = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: HIDDEN,
        activation: 'relu',
        name: 'hidden',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 5,
        activation: 'softmax',
        name: 'scores',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  await mlp.save(layersModelFiles(join(dir, 'mlp')));
  mlp.dispose();
  // The same with batch normalisation whose moving statistics are far from a batch's moments.
  const normalized = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: HIDDEN, name: 'hidden' }),
      tf.layers.batchNormalization({
        name: 'norm',
        movingMeanInitializer: tf.initializers.constant({ value: 0.5 }),
        movingVarianceInitializer: tf.initializers.constant({ value: 4 }),
      }),
      tf.layers.reLU(),
      tf.layers.dense({ units: 5, activation: 'softmax', name: 'scores' }),
    ],
  });
  await normalized.save(layersModelFiles(join(dir, 'normalized')));
  normalized.dispose();
  const withDropout = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: HIDDEN, activation: 'relu', name: 'hidden' }),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ units: 5, activation: 'softmax', name: 'scores' }),
    ],
  });
  await withDropout.save(layersModelFiles(join(dir, 'dropout')));
  withDropout.dispose();
});

interface Summary {
  adapterParams: number;
  headParams: number;
  accuracy: number;
}

test('finetune, evaluate, merge and predict a Layers model; the merged model.json scores the same in plain tfjs', async () => {
  const summary = JSON.parse(
    await ok(
      'finetune',
      ...['--model', 'mlp', '--preset', 'lora', '--steps', '40', '--batch-size', '64'],
      ...['--train-size', '2000', '--test-size', String(TEST_SIZE), '--eval-every', '0'],
      ...['--checkpoint-every', '0', '--backend', 'cpu', '--json', '--out', 'run'],
    ),
  ) as Summary;
  // LoRA rank 8 on hidden/kernel [16, 784]; a new head of MNIST's 10 labels on 16 features.
  expect(summary.adapterParams).toBe(8 * (HIDDEN + 784));
  expect(summary.headParams).toBe(10 * HIDDEN + 10);
  // 40 steps from a random MLP: well above chance (10 %).
  expect(summary.accuracy).toBeGreaterThan(0.5);
  const head = await readHeadFile(join(dir, 'run', 'head.safetensors'));
  expect(head.weight.shape).toEqual([10, HIDDEN]);
  expect(head.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

  expect(await evaluate('--model', 'mlp', '--adapter', 'run')).toBe(summary.accuracy);
  expect(
    await ok('merge', '--model', 'mlp/model.json', '--adapter', 'run', '--out', 'merged'),
  ).toContain('Wrote merged: mlp/model.json with run merged (10 labels: 0, 1, 2, 3, 4, …)');
  expect(await evaluate('--model', 'merged')).toBe(summary.accuracy);
  const written = JSON.parse(readFileSync(join(dir, 'merged', 'model.json'), 'utf8')) as {
    userDefinedMetadata: unknown;
  };
  expect(written.userDefinedMetadata).toEqual({
    labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    inputRange: [0, 1],
  });

  // Recounted from the merged model's own predict on pixels / 255.
  const test = subset(await loadDataset('mnist', { split: 'test' }), TEST_SIZE, { seed: 0 });
  const merged = await tf.loadLayersModel(layersModelFiles(join(dir, 'merged')));
  const predicted = tf.tidy(() => {
    const x = tf.tensor2d(
      Float32Array.from(test.images, (v) => v / 255),
      [test.count, 784],
    );
    return (merged.predict(x) as tf.Tensor).argMax(-1).dataSync();
  });
  const correct = test.labels.filter((label, i) => predicted[i] === label).length;
  expect(summary.accuracy).toBeCloseTo(correct / test.count, 10);

  // predict: the merged model's most probable label for a digit written as a PNG.
  const png = new PNG({ width: 28, height: 28, colorType: 0 });
  const first = test.images.subarray(0, 784);
  first.forEach((value, i) => {
    png.data.set([value, value, value, 255], i * 4);
  });
  writeFileSync(join(dir, 'digit.png'), PNG.sync.write(png));
  const line = await ok(
    'predict',
    '--model',
    'merged',
    '--images',
    'digit.png',
    '--backend',
    'cpu',
  );
  expect(line).toMatch(new RegExp(`^digit\\.png  ${predicted[0]} \\d+\\.\\d%\\n$`));
  merged.dispose();
});

test('batch normalisation keeps the base model’s statistics: the run, its files and the merged model score the same', async () => {
  const summary = JSON.parse(
    await ok(
      'finetune',
      ...['--model', 'normalized', '--preset', 'lora', '--steps', '20', '--batch-size', '64'],
      ...['--train-size', '1000', '--test-size', String(TEST_SIZE), '--eval-every', '0'],
      ...['--checkpoint-every', '0', '--backend', 'cpu', '--json', '--out', 'run-normalized'],
    ),
  ) as Summary;
  expect(await evaluate('--model', 'normalized', '--adapter', 'run-normalized')).toBe(
    summary.accuracy,
  );
  await ok('merge', '--model', 'normalized', '--adapter', 'run-normalized', '--out', 'merged-bn');
  expect(await evaluate('--model', 'merged-bn')).toBe(summary.accuracy);
  const merged = await tf.loadLayersModel(layersModelFiles(join(dir, 'merged-bn')));
  const [, , movingMean, movingVariance] = merged.getLayer('norm').getWeights();
  expect(Array.from(movingMean!.dataSync())).toEqual(new Array(HIDDEN).fill(0.5));
  expect(Array.from(movingVariance!.dataSync())).toEqual(new Array(HIDDEN).fill(4));
  merged.dispose();
});

test('a seeded run of a model with dropout repeats bit for bit; another seed differs', async () => {
  const run = async (seed: number, out: string): Promise<Buffer> => {
    await ok(
      'finetune',
      ...['--model', 'dropout', '--preset', 'lora', '--steps', '8', '--batch-size', '32'],
      ...['--train-size', '500', '--test-size', '50', '--eval-every', '0', '--seed', String(seed)],
      ...['--checkpoint-every', '0', '--backend', 'cpu', '--json', '--out', out],
    );
    return readFileSync(join(dir, out, 'adapter.safetensors'));
  };
  const first = await run(3, 'run-dropout-a');
  expect((await run(3, 'run-dropout-b')).equals(first)).toBe(true);
  expect((await run(4, 'run-dropout-c')).equals(first)).toBe(false);
});

test('refusals name what is wrong', async () => {
  const refused = async (message: string | RegExp, ...args: string[]) => {
    const result = await cli(...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    // One line (and commander's pointer to --help), no stack.
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  };
  await refused(
    /Expected no input range for the ViT .*: a ViT takes its pixels as \(x\/255 − 0.5\)\/0.5/,
    ...['evaluate', '--input-range', '0,1', '--test-size', '10'],
  );
  await refused(
    /low < high but received "1,0"/,
    'evaluate',
    '--model',
    'mlp',
    '--input-range',
    '1,0',
  );
  mkdirSync(join(dir, 'nothing'));
  await refused(
    /Expected .*nothing to hold a Hugging Face ViT .* or a tfjs Layers model .* but it has neither config.json nor model.json/,
    ...['evaluate', '--model', 'nothing'],
  );
  await refused(
    /writing mlp\/model\.json would overwrite mlp\/model\.json \(in mlp\), which --model reads/,
    'merge',
    '--model',
    'mlp',
    '--adapter',
    'run',
    '--out',
    'mlp',
  );
});
