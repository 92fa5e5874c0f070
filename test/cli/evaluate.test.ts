/**
 * `superlora evaluate` as a user runs it, against accuracies counted here (argmax of each row of the
 * model's own logits, in JS) on 300 MNIST digits: the shipped (Fashion-MNIST) model alone, and
 * with an adapter merged. A model whose label count does not fit the dataset is refused with one
 * line.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { batchAt } from '../../src/data/batchAt';
import { subset, type Dataset } from '../../src/data/dataset';
import { loadDataset } from '../../src/data/loadDataset';
import { useBackend } from '../../src/tfjs/backend';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { loadViT, saveViT } from '../../src/vit/io';
import { shippedModelDir } from '../../src/vit/shippedModel';
import type { ViT } from '../../src/vit/model';
import { cliIn } from '../cliRunner';
import { randomizedViT, TINY, uniforms } from '../vit/tinyVit';

const dir = mkdtempSync(join(tmpdir(), 'superlora-evaluate-'));
const cli = cliIn(dir);
const MODEL = join(__dirname, '..', '..', 'models', 'vit-tiny-fashion-mnist');
const COUNT = 300;
let testSet: Dataset | undefined;

/**
 * Correct predictions and the confusion matrix ([label][prediction]), counted one image at a time
 * from the logits' largest entry.
 */
async function countCorrect(
  logits: (pixels: tf.Tensor4D) => tf.Tensor2D,
  vit: ViT,
): Promise<{ correct: number; confusion: number[][] }> {
  testSet ??= subset(await loadDataset('mnist', { split: 'test' }), COUNT, { seed: 0 });
  const test = testSet;
  let correct = 0;
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (let start = 0; start < test.count; start += 50) {
    const indices = Array.from({ length: 50 }, (_, i) => start + i);
    const batch = batchAt(test, indices, { imageSize: vit.config.imageSize });
    const output = tf.tidy(() => logits(batch.pixelValues));
    const [rows, classes] = output.shape;
    const values = await output.data();
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let c = 1; c < classes; c++) {
        if (values[r * classes + c]! > values[r * classes + best]!) best = c;
      }
      if (best === test.labels[start + r]) correct += 1;
      confusion[test.labels[start + r]!]![best]! += 1;
    }
    tf.dispose([batch.pixelValues, batch.labels, output]);
  }
  return { correct, confusion };
}

interface EvaluateJson {
  accuracy: number;
  count: number;
  confusion: number[][];
  classes: Array<{ label: string; count: number; accuracy: number; mistakenFor: unknown }>;
}

async function evaluate(...extra: string[]): Promise<EvaluateJson> {
  const result = await cli(
    'evaluate',
    ...['--model', MODEL, '--dataset', 'mnist', '--test-size', String(COUNT)],
    ...['--backend', 'cpu', '--json', ...extra],
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as EvaluateJson;
}

beforeAll(async () => {
  tf.enableProdMode();
  await useBackend('cpu');
});

test('evaluate counts what the model gets right, alone and with an adapter merged', async () => {
  const vit = await loadViT(MODEL);
  const alone = await evaluate();
  expect(alone.count).toBe(COUNT);
  const counted = await countCorrect((pixels) => vit.forward(pixels), vit);
  expect(alone.accuracy * COUNT).toBeCloseTo(counted.correct, 9);
  // Every prediction in the matrix, and each class's accuracy and most frequent mistake from it.
  expect(alone.confusion).toEqual(counted.confusion);
  alone.classes.forEach((result, c) => {
    const row = counted.confusion[c]!;
    const images = row.reduce((sum, n) => sum + n, 0);
    expect(result).toMatchObject({ label: String(c), count: images });
    expect(result.accuracy).toBeCloseTo(row[c]! / images, 12);
    const wrong = row.map((n, p) => (p === c ? 0 : n));
    const most = Math.max(...wrong);
    expect(result.mistakenFor).toEqual(
      most === 0 ? null : { label: String(wrong.indexOf(most)), count: most },
    );
  });

  const adapter = ModelAdapter.create(vit, { rank: 2 });
  adapter.params.assign(tf.tensor1d(uniforms(3, adapter.numParams).map((u) => 0.6 * u)));
  const adapterFile = join(dir, 'adapter.safetensors');
  await adapter.save(adapterFile);
  const adapted = await evaluate('--adapter', adapterFile);
  const expected = await countCorrect(
    (pixels) => adapter.withDelta((weightOverride) => vit.forward(pixels, { weightOverride })),
    vit,
  );
  expect(adapted.accuracy * COUNT).toBeCloseTo(expected.correct, 9);
  expect(adapted.confusion).toEqual(expected.confusion);
  // The adapter changes predictions: this is not the base model counted twice.
  expect(adapted.accuracy).not.toBe(alone.accuracy);
  adapter.dispose();
  vit.dispose();
});

test('evaluate refuses a model whose labels do not fit the dataset', async () => {
  const tiny = randomizedViT({ ...TINY, imageSize: 28, patchSize: 7, numChannels: 1 }, 2);
  await saveViT(join(dir, 'three-labels'), tiny);
  tiny.dispose();
  const result = await cli('evaluate', '--model', 'three-labels', '--test-size', '10');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'Expected a model with 10 labels for mnist but three-labels has 3',
  );
  expect(result.stderr).not.toMatch(/\n\s+at /);
});

test('the text output lists each class, or the least accurate ten of more than twenty', async () => {
  const text = await cli(
    'evaluate',
    ...['--model', MODEL, '--dataset', 'mnist', '--test-size', '100', '--backend', 'cpu'],
  );
  expect(text.code).toBe(0);
  const lines = text.stdout.trim().split('\n');
  const header = lines.indexOf('per class:');
  expect(lines[header + 1]).toMatch(/^ {2}class\s+images\s+accuracy\s+most often taken for$/);
  expect(lines.slice(header + 2).map((line) => line.trim().split(/\s+/)[0])).toEqual(
    Array.from({ length: 10 }, (_, c) => String(c)),
  );

  // 21 classes of one 8×8 picture each, on a model with 21 labels.
  const tiny = randomizedViT({ ...TINY, numLabels: 21 }, 5);
  await saveViT(join(dir, 'twenty-one'), tiny);
  tiny.dispose();
  const folder = join(dir, 'twenty-one-classes');
  for (const split of ['train', 'test']) {
    for (let c = 0; c < 21; c++) {
      const classDir = join(folder, split, `c${String(c).padStart(2, '0')}`);
      mkdirSync(classDir, { recursive: true });
      const png = new PNG({ width: 8, height: 8 });
      uniforms(40 + c, 256).forEach(
        (u, i) => (png.data[i] = i % 4 === 3 ? 255 : Math.floor(128 + 127 * u)),
      );
      writeFileSync(join(classDir, 'a.png'), PNG.sync.write(png));
    }
  }
  const many = await cli(
    'evaluate',
    '--model',
    'twenty-one',
    '--dataset',
    folder,
    '--backend',
    'cpu',
  );
  expect(many.stderr).toBe('');
  const manyLines = many.stdout.trim().split('\n');
  const title = manyLines.indexOf('the 10 least accurate of 21 classes (--json lists all):');
  expect(title).toBeGreaterThan(0);
  const accuracies = manyLines.slice(title + 2).map((line) => Number(/(\d+\.\d+)%/.exec(line)![1]));
  expect(accuracies).toHaveLength(10);
  expect(accuracies).toEqual([...accuracies].sort((a, b) => a - b));
});

test('without --model, evaluate runs the shipped base model, as finetune does', async () => {
  const args = ['evaluate', '--dataset', 'fashion-mnist', '--test-size', '100', '--json'];
  const implicit = await cli(...args);
  const explicit = await cli(...args, '--model', shippedModelDir());
  expect(implicit.code).toBe(0);
  const results = [implicit, explicit].map(({ stdout }) => {
    const { seconds, ...result } = JSON.parse(stdout) as { seconds: number };
    expect(seconds).toBeGreaterThan(0);
    return result;
  });
  expect(results[0]).toEqual(results[1]);
  // The shipped model was trained on Fashion-MNIST (71.81 % on its 10 000): well above chance here.
  expect(JSON.parse(implicit.stdout).accuracy).toBeGreaterThan(0.5);
});
