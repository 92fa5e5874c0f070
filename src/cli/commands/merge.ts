/**
 * `superlora merge --model PATH --adapter FILE|DIR [--adapter …] --out DIR`: folds adapters into the
 * model's weights (W += s·ΔW for every target of each; with a `finetune` output folder, also its
 * classifier head and label names) and writes the result in the model's own format, a Hugging Face
 * model folder (config.json + model.safetensors) or a tfjs Layers model (model.json + weight
 * shard), that loads anywhere the base model does, with no adapter code at inference.
 */
import type { Command } from 'commander';
import { classifierKind, savedModelFiles } from '../../train/imageClassifier';
import { loadAdaptedClassifier } from '../../train/loadAdaptedClassifier';
import { addModelFlag, modelDirOf, type ModelFlags } from '../modelFlag';
import { refuseOverwritingInputs, type CommandInput } from '../outputGuard';
import {
  addAdapterFlags,
  adaptersToMerge,
  combinationOf,
  describeAdapters,
  type AdapterFlags,
} from '../adapterFlags';

interface MergeFlags extends AdapterFlags, ModelFlags {
  out: string;
}

async function run(flags: MergeFlags): Promise<void> {
  const model = modelDirOf(flags);
  const adapters = adaptersToMerge(flags);
  const inputs: CommandInput[] = [
    { flag: '--model', path: model },
    ...adapters.map(({ path }) => ({ flag: '--adapter', path })),
  ];
  await refuseOverwritingInputs('--out', savedModelFiles(classifierKind(model), flags.out), inputs);
  const combination = combinationOf(flags);
  const classifier = await loadAdaptedClassifier(model, adapters, {
    combination,
    inputRange: flags.inputRange,
  });
  const how =
    combination.combination === 'linear'
      ? ''
      : ` by ${combination.combination} (density ${combination.density})`;
  try {
    await classifier.save(flags.out);
    const id2label = classifier.labels;
    const numLabels = id2label.length;
    console.log(
      `Wrote ${flags.out}: ${model} with ${describeAdapters(adapters)} merged${how} (${numLabels} labels: ${id2label.slice(0, 5).join(', ')}${numLabels > 5 ? ', …' : ''})`,
    );
  } finally {
    classifier.dispose();
  }
}

export function registerMergeCommand(program: Command): void {
  const command = program
    .command('merge')
    .description(
      'fold adapters (and a finetune run’s head) into a ViT or tfjs Layers model and write it in the same format',
    );
  addAdapterFlags(addModelFlag(command), { required: true })
    .requiredOption(
      '--out <path>',
      'the folder to write (config.json + model.safetensors for a ViT; model.json + weight shard for a Layers model, or name the .json)',
    )
    .action(run);
}
