/**
 * `superlora predict --model DIR --images PATH… [--out FILE]`: ViT predictions for image files (PNG
 * / JPEG, or folders of them, preprocessed exactly as `finetune` evaluates), or logits for a
 * safetensors batch of already normalised `pixel_values`.
 */
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { batchAt } from '../../data/batchAt';
import type { Dataset } from '../../data/dataset';
import { isImageFile, readImageFile } from '../../data/images/readImageFolder';
import { readSafetensors, writeSafetensors } from '../../io/safetensors';
import { backendChoices, useBackend, type BackendChoice } from '../../tfjs/backend';
import { loadAdaptedViT } from '../../train/loadAdaptedViT';
import type { ViTConfig } from '../../vit/config';
import { loadViT } from '../../vit/io';
import type { ViT } from '../../vit/model';
import { CliUsageError } from '../errors';
import { choiceFlag, integerFlag } from '../parseFlags';

interface PredictOptions {
  model: string;
  images: string[];
  out?: string;
  batchSize: number;
  top: number;
  backend: BackendChoice;
  adapter?: string;
  json?: boolean;
}

/** The one tensor a safetensors batch holds, as HF image processors name it. */
const PIXELS = 'pixel_values';

/** F32 [B, C, H, W] pixel values from a safetensors file, checked against the model. */
async function readPixelFile(file: string, config: ViTConfig): Promise<tf.Tensor4D> {
  const { tensors } = await readSafetensors(file);
  const pixels = tensors.get(PIXELS);
  if (pixels === undefined) {
    const found = [...tensors.keys()].map((name) => JSON.stringify(name)).join(', ') || 'none';
    throw new CliUsageError(`Expected a tensor "${PIXELS}" in --images ${file} but found ${found}`);
  }
  const { numChannels, imageSize } = config;
  const expected = [numChannels, imageSize, imageSize];
  if (
    pixels.dtype !== 'F32' ||
    pixels.shape.length !== 4 ||
    pixels.shape.slice(1).some((size, i) => size !== expected[i])
  ) {
    throw new CliUsageError(
      `Expected "${PIXELS}" F32 [B, ${expected.join(', ')}] for the model but received ${pixels.dtype} [${pixels.shape.join(', ')}] in --images ${file}`,
    );
  }
  return tf.tensor4d(pixels.data, pixels.shape as [number, number, number, number]);
}

/** The image files among `paths`: files as given, folders as their PNG / JPEG files in name order. */
async function imageFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    const info = await stat(given);
    if (!info.isDirectory()) {
      files.push(given);
      continue;
    }
    const inFolder = (await readdir(given)).filter(isImageFile).sort();
    if (inFolder.length === 0) {
      throw new CliUsageError(`Expected PNG or JPEG files in --images ${given} but found none`);
    }
    files.push(...inFolder.map((name) => path.join(given, name)));
  }
  return files;
}

/** The images as `finetune` evaluates them: converted, resized, normalised, NCHW. */
async function readImages(files: readonly string[], config: ViTConfig): Promise<tf.Tensor4D> {
  const { imageSize: size, numChannels } = config;
  const channels = numChannels === 1 ? 1 : 3;
  if (numChannels !== channels) {
    throw new CliUsageError(
      `Expected a model of 1 or 3 channels for image files, not ${numChannels}`,
    );
  }
  const bytes = size * size * channels;
  const images = new Uint8Array(files.length * bytes);
  for (const [i, file] of files.entries()) {
    images.set(await readImageFile(file, size, channels), i * bytes);
  }
  const dataset: Dataset = {
    name: 'images',
    images,
    labels: new Int32Array(files.length),
    count: files.length,
    height: size,
    width: size,
    channels,
    numClasses: 1,
    classNames: ['?'],
  };
  const { pixelValues, labels } = batchAt(
    dataset,
    files.map((_, i) => i),
    { imageSize: size, channels },
  );
  labels.dispose();
  return pixelValues;
}

/** Logits [B, labels] of the model, `batchSize` images per forward pass. */
async function logitsOf(vit: ViT, pixels: tf.Tensor4D, batchSize: number): Promise<Float32Array> {
  const [count] = pixels.shape;
  const { numLabels } = vit.config;
  const logits = new Float32Array(count * numLabels);
  for (let first = 0; first < count; first += batchSize) {
    const size = Math.min(batchSize, count - first);
    const output = tf.tidy(() => vit.forward(pixels.slice([first], [size])));
    logits.set(await output.data(), first * numLabels);
    output.dispose();
  }
  return logits;
}

/** The `top` most probable labels of each row (softmax of the logits). */
function topLabels(
  logits: Float32Array,
  labels: readonly string[],
  top: number,
): { label: string; probability: number }[][] {
  const classes = labels.length;
  const rows: { label: string; probability: number }[][] = [];
  for (let r = 0; r < logits.length / classes; r++) {
    const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
    const largest = Math.max(...row);
    const weights = row.map((value) => Math.exp(value - largest));
    const total = weights.reduce((sum, w) => sum + w, 0);
    rows.push(
      weights
        .map((w, c) => ({ label: labels[c] as string, probability: w / total }))
        .sort((a, b) => b.probability - a.probability)
        .slice(0, top),
    );
  }
  return rows;
}

async function predict(options: PredictOptions): Promise<void> {
  const pixelFile =
    options.images.length === 1 && options.images[0]!.toLowerCase().endsWith('.safetensors')
      ? options.images[0]!
      : null;
  if (pixelFile && options.out === undefined) {
    throw new CliUsageError(`Expected --out FILE for the logits of --images ${pixelFile}`);
  }
  const files = pixelFile ? [] : await imageFiles(options.images);
  const backend = await useBackend(options.backend);
  const vit = options.adapter
    ? await loadAdaptedViT(options.model, options.adapter)
    : await loadViT(options.model);
  try {
    const pixels = pixelFile
      ? await readPixelFile(pixelFile, vit.config)
      : await readImages(files, vit.config);
    const started = process.hrtime.bigint();
    const logits = await logitsOf(vit, pixels, options.batchSize);
    const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;
    const count = pixels.shape[0];
    pixels.dispose();
    const { numLabels, id2label } = vit.config;
    if (options.out !== undefined) {
      await writeSafetensors(
        options.out,
        { logits: { dtype: 'F32', shape: [count, numLabels], data: logits } },
        {
          format: 'superlora-logits',
          model: options.model,
          labels: JSON.stringify(id2label),
          ...(pixelFile ? {} : { files: JSON.stringify(files) }),
        },
      );
    }
    const summary = `logits [${count}, ${numLabels}] in ${milliseconds.toFixed(1)} ms (${backend} backend)`;
    if (pixelFile) {
      console.log(`Wrote ${options.out}: ${summary}`);
      return;
    }
    const predictions = topLabels(logits, id2label, Math.min(options.top, numLabels));
    if (options.json) {
      console.log(JSON.stringify(files.map((file, i) => ({ file, predictions: predictions[i] }))));
      return;
    }
    const width = Math.max(...files.map((file) => file.length));
    files.forEach((file, i) => {
      const shown = predictions[i]!.map(
        ({ label, probability }) => `${label} ${(100 * probability).toFixed(1)}%`,
      );
      console.log(`${file.padEnd(width)}  ${shown.join('  ')}`);
    });
    if (options.out !== undefined) console.log(`Wrote ${options.out}: ${summary}`);
  } finally {
    vit.dispose();
  }
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description(
      'run a ViT (HF config.json + model.safetensors) on images: the most probable labels of PNG / JPEG files, or the logits of a safetensors batch',
    )
    .requiredOption('--model <dir>', 'directory with config.json and model.safetensors')
    .requiredOption(
      '--images <paths...>',
      `PNG / JPEG files or folders of them (preprocessed as finetune evaluates), or one .safetensors file with "${PIXELS}" F32 [B, C, H, W], already normalised`,
    )
    .option('--out <file>', 'also write the logits [B, num_labels] to this .safetensors file')
    .option(
      '--adapter <path>',
      'a SuperLoRA adapter file, a finetune output folder (adapter + head) or a PEFT LoRA / LoKr folder, merged into the model',
    )
    .option('--top <k>', 'labels to print per image, most probable first', integerFlag(1, 1000), 1)
    .option('--batch-size <n>', 'images per forward pass', integerFlag(1, 1 << 20), 64)
    .option(
      '--backend <name>',
      `tfjs backend: ${backendChoices.join(', ')}`,
      choiceFlag(backendChoices),
      'auto',
    )
    .option('--json', 'print the predictions as JSON')
    .action(predict);
}
