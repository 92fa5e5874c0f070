/** `superlora predict --model DIR --images FILE --out FILE`: ViT logits for a batch of images. */
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { readSafetensors, writeSafetensors } from '../../io/safetensors';
import { backendChoices, useBackend, type BackendChoice } from '../../tfjs/backend';
import { loadAdaptedViT } from '../../train/loadAdaptedViT';
import { loadViT } from '../../vit/io';
import { CliUsageError } from '../errors';
import { choiceFlag, integerFlag } from '../parseFlags';

interface PredictOptions {
  model: string;
  images: string;
  out: string;
  batchSize: number;
  backend: BackendChoice;
  adapter?: string;
}

/** The one tensor predict reads, as HF image processors name it. */
const PIXELS = 'pixel_values';

async function predict(options: PredictOptions): Promise<void> {
  const backend = await useBackend(options.backend);
  const { tensors } = await readSafetensors(options.images);
  const pixels = tensors.get(PIXELS);
  if (pixels === undefined) {
    const found = [...tensors.keys()].map((name) => JSON.stringify(name)).join(', ') || 'none';
    throw new CliUsageError(
      `Expected a tensor "${PIXELS}" in --images ${options.images} but found ${found}`,
    );
  }
  if (pixels.dtype !== 'F32' || pixels.shape.length !== 4) {
    throw new CliUsageError(
      `Expected F32 [B, C, H, W] for "${PIXELS}" in --images ${options.images} but received ${pixels.dtype} [${pixels.shape.join(', ')}]`,
    );
  }
  const vit = options.adapter
    ? await loadAdaptedViT(options.model, options.adapter)
    : await loadViT(options.model);
  const { numChannels, imageSize, numLabels } = vit.config;
  const [count, channels, height, width] = pixels.shape as [number, number, number, number];
  if (channels !== numChannels || height !== imageSize || width !== imageSize) {
    throw new CliUsageError(
      `Expected "${PIXELS}" of shape [B, ${numChannels}, ${imageSize}, ${imageSize}] for --model ${options.model} but received [${pixels.shape.join(', ')}] in --images ${options.images}`,
    );
  }

  const started = process.hrtime.bigint();
  const imageValues = channels * height * width;
  const logits = new Float32Array(count * numLabels);
  for (let first = 0; first < count; first += options.batchSize) {
    const size = Math.min(options.batchSize, count - first);
    const batch = tf.tensor4d(
      pixels.data.subarray(first * imageValues, (first + size) * imageValues),
      [size, channels, height, width],
    );
    const output = vit.forward(batch);
    logits.set(await output.data(), first * numLabels);
    batch.dispose();
    output.dispose();
  }
  const milliseconds = Number(process.hrtime.bigint() - started) / 1e6;
  vit.dispose();

  await writeSafetensors(
    options.out,
    { logits: { dtype: 'F32', shape: [count, numLabels], data: logits } },
    { format: 'superlora-logits', model: options.model },
  );
  console.log(
    `Wrote ${options.out}: logits [${count}, ${numLabels}] in ${milliseconds.toFixed(1)} ms (${backend} backend)`,
  );
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description(
      'run a ViT (HF config.json + model.safetensors) on images; writes F32 logits [B, num_labels]',
    )
    .requiredOption('--model <dir>', 'directory with config.json and model.safetensors')
    .requiredOption(
      '--images <file>',
      `.safetensors file with "${PIXELS}" F32 [B, C, H, W], already normalised`,
    )
    .requiredOption('--out <file>', 'the .safetensors file to write ("logits")')
    .option(
      '--adapter <path>',
      'a SuperLoRA adapter file, a finetune output folder (adapter + head) or a PEFT LoRA / LoKr folder, merged into the model',
    )
    .option('--batch-size <n>', 'images per forward pass', integerFlag(1, 1 << 20), 64)
    .option(
      '--backend <name>',
      `tfjs backend: ${backendChoices.join(', ')}`,
      choiceFlag(backendChoices),
      'auto',
    )
    .action(predict);
}
