/**
 * `superlora evaluate` as a user runs it, against accuracies counted here (argmax of each row of the
 * model's own logits, in JS) on 300 MNIST digits: the shipped (Fashion-MNIST) model alone, and
 * with an adapter merged. A model whose label count does not fit the dataset is refused with one
 * line.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { batchAt } from '../../src/data/batchAt';
import { subset, type Dataset } from '../../src/data/dataset';
import { loadDataset } from '../../src/data/loadDataset';
import { useBackend } from '../../src/tfjs/backend';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { loadViT, saveViT } from '../../src/vit/io';
import type { ViT } from '../../src/vit/model';
import { cliIn } from '../cliRunner';
import { randomizedViT, TINY, uniforms } from '../vit/tinyVit';

const dir = mkdtempSync(join(tmpdir(), 'superlora-evaluate-'));
const cli = cliIn(dir);
const MODEL = join(__dirname, '..', '..', 'models', 'vit-tiny-fashion-mnist');
const COUNT = 300;
let testSet: Dataset | undefined;

/** Correct predictions, counted one image at a time from the logits' largest entry. */
async function countCorrect(
  logits: (pixels: tf.Tensor4D) => tf.Tensor2D,
  vit: ViT,
): Promise<number> {
  testSet ??= subset(await loadDataset('mnist', { split: 'test' }), COUNT, { seed: 0 });
  const test = testSet;
  let correct = 0;
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
    }
    tf.dispose([batch.pixelValues, batch.labels, output]);
  }
  return correct;
}

async function evaluate(...extra: string[]): Promise<{ accuracy: number; count: number }> {
  const result = await cli(
    'evaluate',
    ...['--model', MODEL, '--dataset', 'mnist', '--test-size', String(COUNT)],
    ...['--backend', 'cpu', '--json', ...extra],
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as { accuracy: number; count: number };
}

beforeAll(async () => {
  tf.enableProdMode();
  await useBackend('cpu');
});

test('evaluate counts what the model gets right, alone and with an adapter merged', async () => {
  const vit = await loadViT(MODEL);
  const alone = await evaluate();
  expect(alone.count).toBe(COUNT);
  expect(alone.accuracy * COUNT).toBeCloseTo(
    await countCorrect((pixels) => vit.forward(pixels), vit),
    9,
  );

  const adapter = ModelAdapter.create(vit, { rank: 2 });
  adapter.params.assign(tf.tensor1d(uniforms(3, adapter.numParams).map((u) => 0.6 * u)));
  const adapterFile = join(dir, 'adapter.safetensors');
  await adapter.save(adapterFile);
  const adapted = await evaluate('--adapter', adapterFile);
  const expected = await countCorrect(
    (pixels) => adapter.withDelta((weightOverride) => vit.forward(pixels, { weightOverride })),
    vit,
  );
  expect(adapted.accuracy * COUNT).toBeCloseTo(expected, 9);
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
