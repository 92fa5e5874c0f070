/**
 * `superlora merge --model DIR --adapter FILE|DIR [--adapter …] --out DIR`: folds adapters into the
 * model's weights (W += s·ΔW for every target of each; with a `finetune` output folder, also its
 * classifier head and label names) and writes the result as a Hugging Face model folder (config.json +
 * model.safetensors) that loads anywhere the base model does, with no adapter code at inference.
 */
import { join } from 'path';
import type { Command } from 'commander';
import { loadAdaptedViT } from '../../train/loadAdaptedViT';
import { CONFIG_FILE, saveViT, WEIGHTS_FILE } from '../../vit/io';
import { addModelFlag, modelDirOf } from '../modelFlag';
import { refuseOverwritingInputs, type CommandInput } from '../outputGuard';
import {
  addAdapterFlags,
  adaptersToMerge,
  combinationOf,
  describeAdapters,
  type AdapterFlags,
} from '../adapterFlags';

interface MergeFlags extends AdapterFlags {
  model?: string;
  out: string;
}

async function run(flags: MergeFlags): Promise<void> {
  const model = modelDirOf(flags);
  const adapters = adaptersToMerge(flags);
  const inputs: CommandInput[] = [
    { flag: '--model', path: model },
    ...adapters.map(({ path }) => ({ flag: '--adapter', path })),
  ];
  const outputs = [CONFIG_FILE, WEIGHTS_FILE].map((file) => join(flags.out, file));
  await refuseOverwritingInputs('--out', outputs, inputs);
  const combination = combinationOf(flags);
  const vit = await loadAdaptedViT(model, adapters, { combination });
  const how =
    combination.combination === 'linear'
      ? ''
      : ` by ${combination.combination} (density ${combination.density})`;
  try {
    await saveViT(flags.out, vit);
    const { numLabels, id2label } = vit.config;
    console.log(
      `Wrote ${flags.out}: ${model} with ${describeAdapters(adapters)} merged${how} (${numLabels} labels: ${id2label.slice(0, 5).join(', ')}${numLabels > 5 ? ', …' : ''})`,
    );
  } finally {
    vit.dispose();
  }
}

export function registerMergeCommand(program: Command): void {
  const command = program
    .command('merge')
    .description(
      'fold adapters (and a finetune run’s head) into a ViT and write it as a Hugging Face model folder',
    );
  addAdapterFlags(addModelFlag(command), { required: true })
    .requiredOption('--out <dir>', 'the folder to write (config.json + model.safetensors)')
    .action(run);
}
