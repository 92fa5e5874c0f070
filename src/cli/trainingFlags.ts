/**
 * Flags shared by `finetune`, `pretrain` and `sweep`: data, schedule, evaluation, checkpoints,
 * backend; and their mapping to the library's {@link TrainingSettings}.
 */
import type { Command } from 'commander';
import { datasetNames, type DatasetName } from '../data/dataset';
import { backendChoices, type BackendChoice } from '../tfjs/backend';
import type { TrainingSettings } from '../train/trainingSettings';
import { choiceFlag, integerFlag, numberFlag } from './parseFlags';

/** What commander parses from the shared flags: the training settings, plus where and how to run. */
export interface TrainingFlags extends TrainingSettings {
  augment: boolean;
  out: string;
  backend: BackendChoice;
  nativeKernels: boolean;
}

export interface TrainingDefaults {
  dataset: DatasetName;
  steps: number;
  batchSize: number;
  lr: number;
  evalEvery: number;
  checkpointEvery: number;
  out: string;
}

export function addTrainingFlags(command: Command, defaults: TrainingDefaults): Command {
  return command
    .option(
      '--dataset <name>',
      `${datasetNames.join(', ')}`,
      choiceFlag(datasetNames),
      defaults.dataset,
    )
    .option('--data-dir <dir>', 'folder with the CIFAR binary files (cifar10, cifar100)')
    .option('--steps <n>', 'training steps', integerFlag(1, 10_000_000), defaults.steps)
    .option('--batch-size <n>', 'images per step', integerFlag(1, 65536), defaults.batchSize)
    .option(
      '--lr <x>',
      'peak learning rate of the OneCycle schedule',
      numberFlag(0, 100),
      defaults.lr,
    )
    .option('--momentum <x>', 'SGD momentum', numberFlag(0, 1), 0.9)
    .option('--weight-decay <x>', 'L2 weight decay', numberFlag(0, 1), 0)
    .option(
      '--eval-every <n>',
      'evaluate on the test set every N steps (0: at the end only)',
      integerFlag(0, 10_000_000),
      defaults.evalEvery,
    )
    .option(
      '--checkpoint-every <n>',
      'checkpoint every N steps (0: at the end only)',
      integerFlag(0, 10_000_000),
      defaults.checkpointEvery,
    )
    .option(
      '--train-size <n>',
      'train on a class-stratified subset of N images',
      integerFlag(1, 100_000_000),
    )
    .option(
      '--test-size <n>',
      'evaluate on a class-stratified subset of N images',
      integerFlag(1, 100_000_000),
    )
    .option(
      '--no-augment',
      'no training augmentation (random shifts, and flips where they keep the class)',
    )
    .option(
      '--seed <s>',
      'seeds data order, augmentation, dropout and initialisation',
      integerFlag(0, 2 ** 32 - 1),
      0,
    )
    .option('--out <dir>', 'output folder (log, checkpoint, results)', defaults.out)
    .option(
      '--backend <name>',
      `tfjs backend: ${backendChoices.join(', ')}`,
      choiceFlag(backendChoices),
      'auto',
    )
    .option(
      '--no-native-kernels',
      'run tfjs’s own cpu kernels instead of superlora’s native ones (also SUPERLORA_NATIVE_KERNELS=0)',
    );
}

/** `--resume`, for the commands that train one run (a sweep resumes by itself). */
export function addResumeFlag(command: Command): Command {
  return command.option('--resume', 'continue the run in --out from its last checkpoint');
}

/** The library's training settings, as the shared flags give them. */
export function trainingSettings(flags: TrainingFlags): TrainingSettings {
  return {
    dataset: flags.dataset,
    dataDir: flags.dataDir,
    steps: flags.steps,
    batchSize: flags.batchSize,
    lr: flags.lr,
    momentum: flags.momentum,
    weightDecay: flags.weightDecay,
    evalEvery: flags.evalEvery,
    checkpointEvery: flags.checkpointEvery,
    trainSize: flags.trainSize,
    testSize: flags.testSize,
    augment: flags.augment,
    seed: flags.seed,
  };
}
