/**
 * The README's "A tfjs Layers model of your own": its snippet, as written there, through the
 * compiled package entry point, on a model saved to and loaded from a folder with
 * layersModelFiles, and examples/layers-model-transfer.js and examples/train-cnn.js (with the
 * CLI fine-tuning the CNN it saves), shortened.
 */
import { execFile } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import * as tf from '@tensorflow/tfjs';
import { cliIn } from './cliRunner';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const superlora = require(join(__dirname, '..')) as typeof import('../src/index');

/** A 784 → 16 → 10 MLP, the model "of your own" the README loads. */
function mlp(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: 16,
        activation: 'relu',
        name: 'hidden',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 10,
        name: 'logits',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

test('the README snippet fine-tunes a loaded LayersModel, and merge gives the adapted outputs', async () => {
  const { AdaptableLayersModel, ModelAdapter, presetConfig, loadDataset, layersModelFiles } =
    superlora;
  const data = await loadDataset('mnist', { split: 'train' });
  const xs = tf.tensor2d(
    Float32Array.from(data.images.subarray(0, 64 * 784), (v) => v / 255),
    [64, 784],
  );
  const ys = tf.oneHot(tf.tensor1d(Int32Array.from(data.labels.subarray(0, 64)), 'int32'), 10);
  const batches = Array.from({ length: 30 }, () => ({ xs, ys }));
  const losses: number[] = [];

  const dir = mkdtempSync(join(tmpdir(), 'superlora-readme-layers-'));
  const path = join(dir, 'adapter.safetensors');
  await mlp().save(layersModelFiles(join(dir, 'my-model')));
  // ---- the README example, from here ----
  const model = await tf.loadLayersModel(layersModelFiles(join(dir, 'my-model'))); // README: 'my-model'
  const base = model.getWeights().map((w) => w.dataSync().slice()); // (not in the README)
  const adaptable = new AdaptableLayersModel(model);
  expect(adaptable.linearTargets()[0]).toEqual({
    name: 'hidden/kernel',
    shape: [16, 784],
    layer: 0,
  }); // README: shape [128, 784]
  const adapter = ModelAdapter.create(adaptable, presetConfig('lotr'), ['kernel$']); // regexps
  const optimizer = tf.train.adam(3e-3);
  for (const { xs, ys } of batches) {
    const loss = optimizer.minimize(
      () =>
        adapter.withDelta((weightOverride) => {
          const logits = adaptable.apply(xs, { training: true, weightOverride }) as tf.Tensor;
          return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
        }),
      true, // README: false
      [adapter.params], // only the adapter trains
    );
    losses.push(loss!.dataSync()[0]!);
    loss!.dispose();
  }
  await adapter.save(path); // ModelAdapter.load(adaptable, path) reads it back
  const adapted = adapter.withDelta(
    (weightOverride) => adaptable.apply(xs, { weightOverride }) as tf.Tensor,
  );
  model.getWeights().forEach((w, i) => expect(w.dataSync()).toEqual(base[i]));
  adapter.merge(adaptable); // the kernels now hold W + ΔW; unmerge(adaptable) takes it out again
  await model.save(layersModelFiles(join(dir, 'my-model-adapted'))); // README: 'my-model-adapted'
  // ---- to here ----
  // LoTR, M = 3, r = 8: one group of 16·784 + 10·16 = 12 704 values, square-folded (SPEC §4:
  // 23³ ≤ 12 704 < 24³, and 23·23·24 = 12 696 is short) to 23 × 24 × 24; a dense 8³ core and
  // three factors: 512 + 8·(23 + 24 + 24).
  expect(adapter.numParams).toBe(512 + 8 * (23 + 24 + 24));
  // One batch, repeated: the adapter alone fits it (measured 2.42 → 0.106 over the 30 steps).
  expect(losses[losses.length - 1]).toBeLessThan(0.25 * losses[0]!);
  const merged = model.predict(xs) as tf.Tensor;
  const difference = tf.sub(merged, adapted).abs().max().dataSync()[0]!;
  expect(difference).toBeLessThan(1e-5);
  const loaded = await ModelAdapter.load(adaptable, path);
  expect(loaded.params.dataSync()).toEqual(adapter.params.dataSync());
  const saved = await tf.loadLayersModel(layersModelFiles(join(dir, 'my-model-adapted')));
  const reread = saved.predict(xs) as tf.Tensor;
  expect(reread.dataSync()).toEqual(merged.dataSync());
  tf.dispose(reread);
  saved.dispose();
  tf.dispose([xs, ys, adapted, merged]);
  optimizer.dispose();
  loaded.dispose();
  adapter.dispose();
  model.dispose();
});

test('examples/layers-model-transfer.js runs every adapter, each with its parameter count', async () => {
  const script = join(__dirname, '..', 'examples', 'layers-model-transfer.js');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [script, '--steps', '3', '--base-steps', '3'],
    { maxBuffer: 1 << 20 },
  );
  const counts = new Map(
    [...stdout.matchAll(/^ {2}(.+?) +(\d+) trainable +([\d.]+) %/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]),
  );
  // LoRA on [128, 784] and [10, 128]: r·(128 + 784) + r·(10 + 128).
  expect(counts.get('lora r1')).toBe(912 + 138);
  expect(counts.get('lora r4')).toBe(4 * (912 + 138));
  // Full fine-tuning: every weight, biases included.
  expect(counts.get('full')).toBe(784 * 128 + 128 + 128 * 10 + 10);
  expect([...counts.keys()]).toEqual([
    'frozen',
    'lora r1',
    'lora r4',
    'lokr',
    'lotr r8',
    '2d G=1 r4',
    '2d G=1 r16',
    'full',
  ]);
}, 120_000);

test('examples/train-cnn.js saves a CNN that `superlora finetune --model` adapts, conv kernels included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'superlora-cnn-example-'));
  const script = join(__dirname, '..', 'examples', 'train-cnn.js');
  const { stdout } = await promisify(execFile)(process.execPath, [
    script,
    '--steps',
    '3',
    '--out',
    join(dir, 'cnn'),
  ]);
  expect(stdout).toMatch(/CNN \(105866 weights\) on Fashion-MNIST: [\d.]+ % .* after 3 Adam steps/);
  const model = await tf.loadLayersModel(superlora.layersModelFiles(join(dir, 'cnn')));
  expect(model.getUserDefinedMetadata()).toEqual({
    labels: expect.arrayContaining(['T-shirt/top', 'Ankle boot']) as unknown,
    inputRange: [0, 1],
  });
  expect(model.countParams()).toBe(105_866);
  model.dispose();

  const result = await cliIn(dir)(
    'finetune',
    ...['--model', 'cnn', '--dataset', 'mnist', '--preset', 'lora', '--steps', '4'],
    ...['--train-size', '512', '--test-size', '100', '--eval-every', '0'],
    ...['--checkpoint-every', '0', '--json', '--out', 'run'],
  );
  expect(result.code).toBe(0);
  const summary = JSON.parse(result.stdout) as { adapterParams: number; headParams: number };
  // LoRA rank 8 on conv1/kernel [16, 3·3·1], conv2/kernel [32, 3·3·16], hidden/kernel [64, 1568];
  // a new head of 10 labels on 64 features.
  expect(summary.adapterParams).toBe(8 * (16 + 9) + 8 * (32 + 144) + 8 * (64 + 1568));
  expect(summary.headParams).toBe(64 * 10 + 10);
}, 180_000);
