/**
 * `--model <path>` and `--input-range` of every command that runs a model: a Hugging Face ViT
 * folder or a tfjs Layers model (a folder with model.json, or the .json file), by default the base
 * model shipped in the package, so that each command works on a fresh install as `finetune` does.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { InputRange } from '../train/layersClassifier';
import { shippedModelDir } from '../vit/shippedModel';
import { numberListFlag } from './parseFlags';

export interface ModelFlags {
  model?: string;
  inputRange?: InputRange;
}

const parseNumbers = numberListFlag(-1e6, 1e6, 2);

/** `low,high`: two numbers, low < high. */
function inputRangeFlag(value: string): InputRange {
  const range = parseNumbers(value);
  if (range.length !== 2 || !((range[0] as number) < (range[1] as number))) {
    throw new InvalidArgumentError(
      `Expected two comma-separated numbers low,high with low < high but received ${JSON.stringify(value)}.`,
    );
  }
  return [range[0] as number, range[1] as number];
}

export function addModelFlag(command: Command): Command {
  return command
    .option(
      '--model <path>',
      'Hugging Face ViT folder (config.json + model.safetensors), or tfjs Layers model (model.json + weight shards, the folder or the .json) ending in a Dense classifier; default: the shipped base model',
    )
    .option(
      '--input-range <low,high>',
      'pixel values a tfjs Layers model takes, black to white (default: its model.json metadata, else 0,1)',
      inputRangeFlag,
    );
}

/** The model --model named, or the shipped base model. */
export function modelDirOf(flags: ModelFlags): string {
  return flags.model ?? shippedModelDir();
}
