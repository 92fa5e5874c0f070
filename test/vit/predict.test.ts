/**
 * `superlora predict` as a user runs it: `node bin/superlora.js` on the compiled package (`npm
 * test` builds it first), on a tiny model directory made here.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PNG } from 'pngjs';
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

  test('PNG files and a folder of them: the pixel values finetune evaluates with, the labels printed', async () => {
    // 8×8 RGB PNGs, the model’s size: pixel_values = x/127.5 − 1 in NCHW, by hand (the pipeline
    // computes x·(1/127.5) − 1 in float32: equal to rounding).
    const folder = join(dir, 'pngs');
    mkdirSync(folder, { recursive: true });
    const bytes = Uint8Array.from({ length: COUNT * 192 }, (_, i) => (i * 37 + (i >> 6)) % 256);
    const byHand = new Float32Array(COUNT * 192);
    for (let n = 0; n < COUNT; n++) {
      const png = new PNG({ width: 8, height: 8 });
      for (let p = 0; p < 64; p++) {
        for (let c = 0; c < 3; c++) {
          const value = bytes[n * 192 + p * 3 + c]!;
          png.data[4 * p + c] = value;
          byHand[n * 192 + c * 64 + p] = value / 127.5 - 1;
        }
        png.data[4 * p + 3] = 255;
      }
      writeFileSync(join(folder, `image-${n}.png`), PNG.sync.write(png, { colorType: 2 }));
    }
    const handFile = join(dir, 'by-hand.safetensors');
    await writeSafetensors(handFile, {
      pixel_values: { dtype: 'F32', shape: [COUNT, 3, 8, 8], data: byHand },
    });
    const expected = join(dir, 'by-hand-logits.safetensors');
    expect(
      (await cli('predict', '--model', modelDir, '--images', handFile, '--out', expected)).code,
    ).toBe(0);
    const handLogits = (await readSafetensors(expected)).tensors.get('logits')!
      .data as Float32Array;

    const out = join(dir, 'png-logits.safetensors');
    const fromFolder = await cli(
      'predict',
      '--model',
      modelDir,
      '--images',
      folder,
      '--out',
      out,
      '--top',
      '2',
    );
    expect({ code: fromFolder.code, stderr: fromFolder.stderr }).toEqual({ code: 0, stderr: '' });
    const { tensors, metadata } = await readSafetensors(out);
    expect(maxAbsDiff(tensors.get('logits')!.data as Float32Array, handLogits)).toBeLessThan(1e-5);
    const files = JSON.parse(metadata.files!) as string[];
    expect(files).toEqual(Array.from({ length: COUNT }, (_, n) => join(folder, `image-${n}.png`)));
    // Each line: the file, then the two most probable labels, the first the logits' argmax.
    const lines = fromFolder.stdout.trim().split('\n').slice(0, COUNT);
    lines.forEach((line, n) => {
      const row = Array.from(handLogits.subarray(3 * n, 3 * n + 3));
      const best = vit.config.id2label[row.indexOf(Math.max(...row))]!;
      expect(line).toMatch(new RegExp(`^${files[n]}\\s+${best} \\d+\\.\\d%\\s+\\S+ \\d+\\.\\d%$`));
    });

    const one = await cli(
      'predict',
      '--model',
      modelDir,
      '--images',
      files[1]!,
      files[0]!,
      '--json',
    );
    expect(one.code).toBe(0);
    const parsed = JSON.parse(one.stdout) as {
      file: string;
      predictions: { probability: number }[];
    }[];
    expect(parsed.map((p) => p.file)).toEqual([files[1], files[0]]);
    for (const { predictions } of parsed) {
      expect(predictions).toHaveLength(1);
      expect(predictions[0]!.probability).toBeGreaterThan(1 / 3);
    }
  });

  test('--help describes the flags', async () => {
    const { code, stdout } = await cli('predict', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: superlora predict/);
    expect(stdout).toMatch(/--model <path>/);
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
      /^superlora: Expected "pixel_values" F32 \[B, 3, 8, 8\] for the model but received F32 \[1, 3, 16, 16\] in --images \S+/,
    ],
    [
      'pixel values that are not finite',
      async () => {
        const file = join(dir, 'nan.safetensors');
        const data = new Float32Array(2 * 192);
        data[192 + 5] = NaN;
        await writeSafetensors(file, { pixel_values: { dtype: 'F32', shape: [2, 3, 8, 8], data } });
        return ['--images', file, '--out', join(dir, 'nan-logits.safetensors')];
      },
      /^superlora: Expected finite pixel values in --images \S+nan\.safetensors but image 1 has NaN at element 5$/,
    ],
    [
      'a model directory without a checkpoint',
      async () => ['--images', imagesFile, '--model', dir],
      /^superlora: Expected \S+ to hold a Hugging Face ViT \(config\.json \+ model\.safetensors\) or a tfjs Layers model \(model\.json \+ weight shards\) but it has neither config\.json nor model\.json$/,
    ],
    [
      'a bad --batch-size',
      async () => ['--images', imagesFile, '--batch-size', '0'],
      /--batch-size <n>' argument '0' is invalid/,
    ],
    [
      'a pixel file without --out',
      async () => ['--images', imagesFile, '--out-missing'],
      /^superlora: Expected --out FILE for the logits of --images \S+images\.safetensors$/,
    ],
    [
      'a file that is no image',
      async () => {
        writeFileSync(join(dir, 'notes.png'), 'hello');
        return ['--images', join(dir, 'notes.png')];
      },
      /^superlora: \S+notes\.png: cannot decode the image: not a PNG or JPEG file/,
    ],
    [
      'a folder without images',
      async () => {
        mkdirSync(join(dir, 'empty'), { recursive: true });
        return ['--images', join(dir, 'empty')];
      },
      /^superlora: Expected PNG or JPEG files in --images \S+empty but found none$/,
    ],
  ];
  test.each(failures)('%s: exit 1 with one line', async (_, args, message) => {
    const extra = await args();
    const out = extra.includes('--out-missing') ? [] : ['--out', join(dir, 'x.safetensors')];
    const base = ['--model', modelDir, ...out];
    const { code, stderr } = await cli(
      'predict',
      ...base,
      ...extra.filter((arg) => arg !== '--out-missing'),
    );
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')[0]).toMatch(message);
  });
});
