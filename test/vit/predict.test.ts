/**
 * `superlora predict` as a user runs it: `node bin/superlora.js` on the compiled package (`npm
 * test` builds it first), on a tiny model directory made here.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { saveViT } from '../../src/vit/io';
import type { ViT } from '../../src/vit/model';
import { maxAbsDiff, randomizedViT, randomPixels, TINY } from './tinyVit';
import { cliIn } from '../cliRunner';

const dir = mkdtempSync(join(tmpdir(), 'superlora-predict-'));
const modelDir = join(dir, 'model');
const imagesFile = join(dir, 'images.safetensors');

const cli = cliIn(dir);

let vit: ViT;
let pixels: Float32Array;
const COUNT = 5;

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  vit = randomizedViT(TINY, 8);
  await saveViT(modelDir, vit);
  const tensor = randomPixels(vit.config, COUNT, 17);
  pixels = tensor.dataSync() as Float32Array;
  tensor.dispose();
  await writeSafetensors(imagesFile, {
    pixel_values: { dtype: 'F32', shape: [COUNT, 3, 8, 8], data: pixels },
  });
});

afterAll(() => vit.dispose());

describe('superlora predict', () => {
  test('writes the logits of the library forward, in batches', async () => {
    const out = join(dir, 'logits.safetensors');
    const { code, stdout, stderr } = await cli(
      'predict',
      '--model',
      modelDir,
      '--images',
      imagesFile,
      '--out',
      out,
      '--batch-size',
      '2',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Wrote .*logits\.safetensors: logits \[5, 3\] in [\d.]+ ms/);
    const { tensors } = await readSafetensors(out);
    const logits = tensors.get('logits');
    expect(logits?.dtype).toBe('F32');
    expect(logits?.shape).toEqual([COUNT, 3]);
    const input = tf.tensor4d(pixels, [COUNT, 3, 8, 8]);
    const expected = vit.forward(input);
    // Batches of 2 and one batch of 5 sum in the same order per row; allow float noise anyway.
    expect(maxAbsDiff(logits!.data as Float32Array, expected.dataSync())).toBeLessThan(1e-5);
    tf.dispose([input, expected]);
  });

  test('--backend wasm gives the logits of the cpu backend', async () => {
    const outputs: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm']) {
      const out = join(dir, `logits-${backend}.safetensors`);
      const args = ['--model', modelDir, '--images', imagesFile, '--out', out];
      const { code, stdout } = await cli('predict', ...args, '--backend', backend);
      expect(code).toBe(0);
      expect(stdout).toContain(`(${backend} backend)`);
      outputs.push((await readSafetensors(out)).tensors.get('logits')!.data as Float32Array);
    }
    expect(maxAbsDiff(outputs[0]!, outputs[1]!)).toBeLessThan(1e-4);
  });

  test('--help describes the flags', async () => {
    const { code, stdout } = await cli('predict', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: superlora predict/);
    expect(stdout).toMatch(/--model <dir>/);
    expect(stdout).toMatch(/--batch-size <n>/);
    expect(stdout).toMatch(/--backend <name>/);
  });

  const failures: [string, () => Promise<string[]>, RegExp][] = [
    [
      'images without pixel_values',
      async () => {
        const file = join(dir, 'wrong-name.safetensors');
        await writeSafetensors(file, {
          images: { dtype: 'F32', shape: [1, 3, 8, 8], data: new Float32Array(192) },
        });
        return ['--images', file];
      },
      /^superlora: Expected a tensor "pixel_values" in --images \S+ but found "images"$/,
    ],
    [
      'images of the wrong size for the model',
      async () => {
        const file = join(dir, 'wrong-size.safetensors');
        await writeSafetensors(file, {
          pixel_values: { dtype: 'F32', shape: [1, 3, 16, 16], data: new Float32Array(768) },
        });
        return ['--images', file];
      },
      /^superlora: Expected "pixel_values" of shape \[B, 3, 8, 8\] for --model \S+ but received \[1, 3, 16, 16\]/,
    ],
    [
      'a model directory without a checkpoint',
      async () => ['--images', imagesFile, '--model', dir],
      /^superlora: ENOENT: no such file or directory, open '.*config\.json'$/,
    ],
    [
      'a bad --batch-size',
      async () => ['--images', imagesFile, '--batch-size', '0'],
      /--batch-size <n>' argument '0' is invalid/,
    ],
  ];
  test.each(failures)('%s: exit 1 with one line', async (_, args, message) => {
    const extra = await args();
    const base = ['--model', modelDir, '--images', imagesFile, '--out', join(dir, 'x.safetensors')];
    const { code, stderr } = await cli('predict', ...base, ...extra);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')[0]).toMatch(message);
  });
});
