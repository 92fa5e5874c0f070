/**
 * `superlora predict --model PATH --images PATH… [--out FILE]`: a ViT's or tfjs Layers model's predictions for image files (PNG
 * / JPEG, or folders of them, preprocessed exactly as `finetune` evaluates), or logits for a
 * safetensors batch of already normalised `pixel_values`.
 */
import { stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { batchAt } from '../../data/batchAt';
import { imageFilesIn, readImageFiles } from '../../data/images/readImageFolder';
import { readSafetensors, writeSafetensors } from '../../io/safetensors';
import { backendChoices, useBackend, type BackendChoice } from '../../tfjs/backend';
import type { ImageClassifier } from '../../train/imageClassifier';
import { CliUsageError } from '../errors';
import { addAdapterFlags, loadModelWithAdapters, type AdapterFlags } from '../adapterFlags';
import { addModelFlag, modelDirOf, type ModelFlags } from '../modelFlag';
import { refuseOverwritingInputs } from '../outputGuard';
import { choiceFlag, integerFlag } from '../parseFlags';

interface PredictOptions extends AdapterFlags, ModelFlags {
  images: string[];
  out?: string;
  batchSize: number;
  top: number;
  backend: BackendChoice;
  json?: boolean;
}

/** The images a model takes. */
type ModelInput = Pick<ImageClassifier, 'imageSize' | 'numChannels'>;

/** The one tensor a safetensors batch holds, as HF image processors name it. */
const PIXELS = 'pixel_values';

/** A source of model inputs: how many images, and batch [first, first + size) as NCHW pixels. */
interface PixelSource {
  count: number;
  batch(first: number, size: number): tf.Tensor4D;
}

/** F32 [B, C, H, W] pixel values from a safetensors file, checked against the model. */
async function readPixelFile(file: string, config: ModelInput): Promise<PixelSource> {
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
  const perImage = numChannels * imageSize * imageSize;
  const bad = pixels.data.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) {
    throw new CliUsageError(
      `Expected finite pixel values in --images ${file} but image ${Math.floor(bad / perImage)} has ${pixels.data[bad]} at element ${bad % perImage}`,
    );
  }
  return {
    count: pixels.shape[0] as number,
    batch: (first, size) =>
      tf.tensor4d(pixels.data.subarray(first * perImage, (first + size) * perImage), [
        size,
        numChannels,
        imageSize,
        imageSize,
      ]),
  };
}

/** The image files among `paths`: files as given, folders as their PNG / JPEG files in name order. */
async function imageFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    if (!(await stat(given)).isDirectory()) {
      files.push(given);
      continue;
    }
    const inFolder = await imageFilesIn(given);
    if (inFolder.length === 0) {
      throw new CliUsageError(`Expected PNG or JPEG files in --images ${given} but found none`);
    }
    files.push(...inFolder);
  }
  return files;
}

/** Image files as `finetune` evaluates them: converted, resized and normalised by batchAt. */
async function readImages(files: readonly string[], config: ModelInput): Promise<PixelSource> {
  const { imageSize, numChannels } = config;
  if (numChannels !== 1 && numChannels !== 3) {
    throw new CliUsageError(
      `Expected a model of 1 or 3 channels for image files, not ${numChannels}`,
    );
  }
  const dataset = await readImageFiles(
    files,
    // Decoded on every core; not cached: these are files to label, not a dataset to train on.
    { imageSize, channels: numChannels, cacheDir: null },
    { name: 'images', labels: files.map(() => 0), classNames: ['unlabelled'] },
  );
  return {
    count: files.length,
    batch: (first, size) => {
      const indices = Array.from({ length: size }, (_, i) => first + i);
      const { pixelValues, labels } = batchAt(dataset, indices, {
        imageSize,
        channels: numChannels,
      });
      labels.dispose();
      return pixelValues;
    },
  };
}

/** Logits [B, labels] of the model, `batchSize` images per forward pass. */
async function logitsOf(
  classifier: ImageClassifier,
  source: PixelSource,
  batchSize: number,
): Promise<Float32Array> {
  const numLabels = classifier.labels.length;
  const logits = new Float32Array(source.count * numLabels);
  for (let first = 0; first < source.count; first += batchSize) {
    const size = Math.min(batchSize, source.count - first);
    const output = tf.tidy(() => classifier.logits(source.batch(first, size)));
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
  const model = modelDirOf(options);
  if (options.out !== undefined) {
    await refuseOverwritingInputs(
      '--out',
      [options.out],
      [
        { flag: '--model', path: model },
        ...options.images.map((path) => ({ flag: '--images', path })),
        ...(options.adapter ?? []).map((path) => ({ flag: '--adapter', path })),
      ],
    );
  }
  const files = pixelFile ? [] : await imageFiles(options.images);
  const backend = await useBackend(options.backend);
  const classifier = await loadModelWithAdapters(model, options);
  try {
    const source = pixelFile
      ? await readPixelFile(pixelFile, classifier)
      : await readImages(files, classifier);
    const started = process.hrtime.bigint();
    const logits = await logitsOf(classifier, source, options.batchSize);
    const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;
    const { count } = source;
    const id2label = classifier.labels;
    const numLabels = id2label.length;
    if (options.out !== undefined) {
      await writeSafetensors(
        options.out,
        { logits: { dtype: 'F32', shape: [count, numLabels], data: logits } },
        {
          format: 'superlora-logits',
          model,
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
    classifier.dispose();
  }
}

export function registerPredictCommand(program: Command): void {
  const command = program
    .command('predict')
    .description(
      'run a ViT (HF config.json + model.safetensors) or a tfjs Layers model on images: the most probable labels of PNG / JPEG files, or the logits of a safetensors batch',
    )
    .requiredOption(
      '--images <paths...>',
      `PNG / JPEG files or folders of them (preprocessed as finetune evaluates), or one .safetensors file with "${PIXELS}" F32 [B, C, H, W], already normalised`,
    )
    .option('--out <file>', 'also write the logits [B, num_labels] to this .safetensors file');
  addAdapterFlags(addModelFlag(command), { required: false })
    .option(
      '--top <k>',
      'labels to print per image, most probable first (a k above the model’s labels prints them all)',
      integerFlag(1, 1000),
      1,
    )
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
