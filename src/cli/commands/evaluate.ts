/**
 * `superlora evaluate --model DIR [--adapter FILE|DIR] [--dataset NAME]`: test accuracy and loss of
 * a ViT, optionally with an adapter (and a finetune run's head) merged, on a dataset's test split,
 * preprocessed exactly as `finetune` evaluates it.
 */
import type { Command } from 'commander';
import { alignClasses, subset, type DatasetSource } from '../../data/dataset';
import { loadDataset } from '../../data/loadDataset';
import { backendChoices, useBackend, type BackendChoice } from '../../tfjs/backend';
import { loadAdaptedViT } from '../../train/loadAdaptedViT';
import { evaluateClassifier } from '../../train/evaluateClassifier';
import { loadViT } from '../../vit/io';
import { CliUsageError } from '../errors';
import { choiceFlag, datasetFlag, integerFlag } from '../parseFlags';
import { DATASET_FLAG_HELP } from '../trainingFlags';

interface EvaluateFlags {
  model: string;
  adapter?: string;
  dataset: DatasetSource;
  dataDir?: string;
  testSize?: number;
  seed: number;
  batchSize: number;
  backend: BackendChoice;
  json?: boolean;
}

async function run(flags: EvaluateFlags): Promise<void> {
  const backend = await useBackend(flags.backend);
  const vit = flags.adapter
    ? await loadAdaptedViT(flags.model, flags.adapter)
    : await loadViT(flags.model);
  try {
    let test = await loadDataset(flags.dataset, {
      split: 'test',
      dir: flags.dataDir,
      imageSize: vit.config.imageSize,
      channels: vit.config.numChannels,
    });
    if (flags.testSize !== undefined && flags.testSize < test.count) {
      test = subset(test, flags.testSize, { seed: flags.seed });
    }
    test = alignClasses(test, vit.config.id2label);
    if (vit.config.numLabels !== test.numClasses) {
      throw new CliUsageError(
        `Expected a model with ${test.numClasses} labels for ${flags.dataset} but ${flags.adapter ?? flags.model} has ${vit.config.numLabels}`,
      );
    }
    const started = performance.now();
    const result = evaluateClassifier((pixelValues) => vit.forward(pixelValues), test, {
      batchSize: flags.batchSize,
      imageSize: vit.config.imageSize,
      channels: vit.config.numChannels,
    });
    const seconds = (performance.now() - started) / 1000;
    if (flags.json) {
      console.log(JSON.stringify({ ...result, dataset: flags.dataset, seconds, backend }));
      return;
    }
    console.log(`test accuracy  ${(100 * result.accuracy).toFixed(2)}%`);
    console.log(`test loss      ${result.loss.toFixed(4)}`);
    console.log(
      `images         ${result.count} of ${flags.dataset} in ${seconds.toFixed(1)} s (${backend} backend)`,
    );
  } finally {
    vit.dispose();
  }
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'test accuracy and loss of a ViT, optionally with an adapter merged, on a dataset’s test split',
    )
    .requiredOption('--model <dir>', 'directory with config.json and model.safetensors')
    .option(
      '--adapter <path>',
      'a SuperLoRA adapter file, a finetune output folder (adapter + head) or a PEFT LoRA / LoKr folder, merged into the model',
    )
    .option('--dataset <name|dir>', DATASET_FLAG_HELP, datasetFlag, 'mnist')
    .option('--data-dir <dir>', 'folder with the CIFAR binary files (cifar10, cifar100)')
    .option(
      '--test-size <n>',
      'a class-stratified subset of N test images (as finetune --test-size)',
      integerFlag(1, 100_000_000),
    )
    .option('--seed <s>', 'seeds the --test-size subset', integerFlag(0, 2 ** 32 - 1), 0)
    .option('--batch-size <n>', 'images per forward pass', integerFlag(1, 1 << 20), 256)
    .option(
      '--backend <name>',
      `tfjs backend: ${backendChoices.join(', ')}`,
      choiceFlag(backendChoices),
      'auto',
    )
    .option('--json', 'print the result as JSON')
    .action(run);
}
