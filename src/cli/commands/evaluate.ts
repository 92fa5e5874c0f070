/**
 * `superlora evaluate --model DIR [--adapter FILE|DIR] [--dataset NAME]`: test accuracy and loss of
 * a ViT or tfjs Layers model, optionally with an adapter (and a finetune run's head) merged, on a dataset's test split,
 * preprocessed exactly as `finetune` evaluates it; with each class's accuracy and the class its
 * images are most often taken for (and the confusion matrix with --json).
 */
import type { Command } from 'commander';
import { alignClasses, subset, type DatasetSource } from '../../data/dataset';
import { loadDataset } from '../../data/loadDataset';
import { backendChoices, useBackend, type BackendChoice } from '../../tfjs/backend';
import { classResults, evaluateClassifier, type ClassResult } from '../../train/evaluateClassifier';
import { CliUsageError } from '../errors';
import {
  addAdapterFlags,
  adaptersToMerge,
  loadModelWithAdapters,
  describeAdapters,
  type AdapterFlags,
} from '../adapterFlags';
import { addModelFlag, modelDirOf, type ModelFlags } from '../modelFlag';
import { choiceFlag, datasetFlag, integerFlag } from '../parseFlags';
import { DATASET_FLAG_HELP } from '../trainingFlags';

interface EvaluateFlags extends AdapterFlags, ModelFlags {
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
  const adapters = adaptersToMerge(flags);
  const model = modelDirOf(flags);
  const classifier = await loadModelWithAdapters(model, flags);
  try {
    const { imageSize, numChannels, labels } = classifier;
    let test = await loadDataset(flags.dataset, {
      split: 'test',
      dir: flags.dataDir,
      imageSize,
      channels: numChannels,
    });
    if (flags.testSize !== undefined && flags.testSize < test.count) {
      test = subset(test, flags.testSize, { seed: flags.seed });
    }
    test = alignClasses(test, labels);
    if (labels.length !== test.numClasses) {
      throw new CliUsageError(
        `Expected a model with ${test.numClasses} labels for ${flags.dataset} but ${adapters.length > 0 ? describeAdapters(adapters) : model} has ${labels.length}`,
      );
    }
    const started = performance.now();
    const result = evaluateClassifier((pixelValues) => classifier.logits(pixelValues), test, {
      batchSize: flags.batchSize,
      imageSize,
      channels: numChannels,
    });
    const seconds = (performance.now() - started) / 1000;
    const classes = classResults(result.confusion, test.classNames);
    if (flags.json) {
      const json = { ...result, classes, dataset: flags.dataset, seconds, backend };
      console.log(JSON.stringify(json));
      return;
    }
    console.log(`test accuracy  ${(100 * result.accuracy).toFixed(2)}%`);
    console.log(`test loss      ${result.loss.toFixed(4)}`);
    console.log(
      `images         ${result.count} of ${flags.dataset} in ${seconds.toFixed(1)} s (${backend} backend)`,
    );
    for (const line of classLines(classes)) console.log(line);
  } finally {
    classifier.dispose();
  }
}

/** Up to this many classes are listed one by one; more, only the least accurate of them. */
const LISTED_CLASSES = 20;

/** A table of each class's accuracy and most frequent mistake (the worst ones, for many classes). */
function classLines(classes: readonly ClassResult[]): string[] {
  const tested = classes.filter((c) => c.accuracy !== null);
  const many = tested.length > LISTED_CLASSES;
  const shown = many
    ? [...tested]
        .sort((a, b) => (a.accuracy as number) - (b.accuracy as number))
        .slice(0, LISTED_CLASSES / 2)
    : tested;
  const width = Math.max(5, ...shown.map((c) => c.label.length));
  const rows = shown.map((c) => {
    const mistake = c.mistakenFor ? `${c.mistakenFor.label} (${c.mistakenFor.count})` : '';
    const accuracy = `${(100 * (c.accuracy as number)).toFixed(2)}%`;
    return `  ${c.label.padEnd(width)}  ${String(c.count).padStart(6)}  ${accuracy.padStart(8)}  ${mistake}`;
  });
  const title = many
    ? `the ${shown.length} least accurate of ${tested.length} classes (--json lists all):`
    : 'per class:';
  return [
    title,
    `  ${'class'.padEnd(width)}  ${'images'.padStart(6)}  ${'accuracy'.padStart(8)}  most often taken for`,
    ...rows,
  ];
}

export function registerEvaluateCommand(program: Command): void {
  const command = program
    .command('evaluate')
    .description(
      'test accuracy and loss of a ViT or tfjs Layers model, optionally with adapters merged, on a dataset’s test split, with each class’s accuracy and most frequent mistake',
    );
  addAdapterFlags(addModelFlag(command), { required: false })
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
    .option('--json', 'print the result as JSON (with every class and the confusion matrix)')
    .action(run);
}
