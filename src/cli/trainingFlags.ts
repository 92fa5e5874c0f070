/**
 * Flags shared by `finetune`, `pretrain` and `sweep`: data, optimizer, schedule, evaluation,
 * checkpoints, backend; and their mapping to the library's {@link TrainingSettings}.
 */
import type { Command } from 'commander';
import { datasetNames, type DatasetSource } from '../data/dataset';
import { backendChoices, type BackendChoice } from '../tfjs/backend';
import { DEFAULT_SGD_MOMENTUM, optimizerNames, type OptimizerName } from '../train/optimizer';
import { scheduleNames } from '../train/schedule';
import type { ColorJitterOptions } from '../data/colorJitter';
import type { TrainingSettings } from '../train/trainingSettings';
import { CliUsageError } from './errors';
import { choiceFlag, datasetFlag, integerFlag, numberFlag, numberListFlag } from './parseFlags';

/**
 * What commander parses from the shared flags: the training settings (lr and momentum absent when
 * not given: their defaults depend on the optimizer), plus where and how to run.
 */
export interface TrainingFlags extends Omit<
  TrainingSettings,
  'lr' | 'momentum' | 'randomResizedCrop' | 'colorJitter'
> {
  lr?: number;
  momentum?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  augment: boolean;
  /** --flip / --no-flip; undefined when neither is given. */
  flip?: boolean;
  /** --random-resized-crop: true without a value. */
  randomResizedCrop?: true | number[];
  /** --color-jitter: 1, 3 or 4 amounts. */
  colorJitter?: number[];
  out: string;
  backend: BackendChoice;
  nativeKernels: boolean;
}

export interface TrainingDefaults {
  dataset: DatasetSource;
  steps: number;
  batchSize: number;
  optimizer: OptimizerName;
  /** Peak learning rate per optimizer. */
  lr: Record<OptimizerName, number>;
  evalEvery: number;
  checkpointEvery: number;
  out: string;
}

/** The flags that only one optimizer reads. */
const OPTIMIZER_ONLY_FLAGS = [
  { flag: '--momentum', field: 'momentum', optimizer: 'sgd' },
  { flag: '--adam-beta1', field: 'adamBeta1', optimizer: 'adamw' },
  { flag: '--adam-beta2', field: 'adamBeta2', optimizer: 'adamw' },
  { flag: '--adam-epsilon', field: 'adamEpsilon', optimizer: 'adamw' },
] as const;

export const DATASET_FLAG_HELP = `${datasetNames.join(', ')}, or a folder of PNG / JPEG images with one sub-folder per class (and train/ + test/ sub-folders, or 20 % of each class is held out for testing)`;

export function addTrainingFlags(command: Command, defaults: TrainingDefaults): Command {
  return command
    .option('--dataset <name|dir>', DATASET_FLAG_HELP, datasetFlag, defaults.dataset)
    .option('--data-dir <dir>', 'folder with the CIFAR binary files (cifar10, cifar100)')
    .option('--steps <n>', 'training steps', integerFlag(1, 10_000_000), defaults.steps)
    .option('--batch-size <n>', 'images per batch', integerFlag(1, 65536), defaults.batchSize)
    .option(
      '--gradient-accumulation-steps <n>',
      'batches whose gradients are averaged into each step’s update: each step sees N × --batch-size images, with the memory of one batch (default 1)',
      integerFlag(1, 65536),
    )
    .option(
      '--optimizer <name>',
      `${optimizerNames.join(', ')} (default: ${defaults.optimizer})`,
      choiceFlag(optimizerNames),
    )
    .option(
      '--lr <x>',
      `peak learning rate of the schedule (default: ${optimizerNames.map((name) => `${defaults.lr[name]} for ${name}`).join(', ')})`,
      numberFlag(0, 100),
    )
    .option('--momentum <x>', `SGD momentum (default: ${DEFAULT_SGD_MOMENTUM})`, numberFlag(0, 1))
    .option(
      '--weight-decay <x>',
      'weight decay: L2 added to the gradient for sgd, decoupled (w −= lr·λ·w) for adamw',
      numberFlag(0, 1),
      0,
    )
    .option('--adam-beta1 <x>', 'AdamW β1 (default: 0.9)', numberFlag(0, 0.999999))
    .option('--adam-beta2 <x>', 'AdamW β2 (default: 0.999)', numberFlag(0, 0.999999))
    .option('--adam-epsilon <x>', 'AdamW ε (default: 1e-8)', numberFlag(1e-30, 1))
    .option(
      '--schedule <name>',
      `learning-rate schedule: ${scheduleNames.join(', ')} (default: onecycle)`,
      choiceFlag(scheduleNames),
    )
    .option(
      '--warmup-ratio <x>',
      'share of the steps spent warming up (default: 0.3 for onecycle, 0 for the others)',
      numberFlag(0, 1),
    )
    .option(
      '--max-grad-norm <x>',
      'clip the gradients’ global L2 norm to this; 0 does not clip (default: no clipping)',
      numberFlag(0, 1e12),
    )
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
      '--validation-size <n>',
      'hold out N training images (class-stratified, the same for every seed) for the evaluations during training; the test set is then evaluated once, at the end',
      integerFlag(1, 100_000_000),
    )
    .option(
      '--keep-best',
      'end with the weights of the best validation accuracy instead of the last step’s (needs --validation-size)',
    )
    .option(
      '--early-stopping-patience <n>',
      'stop after N validations in a row without a new best (needs --keep-best and --eval-every)',
      integerFlag(1, 1_000_000),
    )
    .option(
      '--no-augment',
      'no training augmentation (random shifts, and flips where they keep the class)',
    )
    .option(
      '--flip',
      'random horizontal flips when augmenting (default: only for fashion-mnist and CIFAR, where a mirror image keeps its class)',
    )
    .option('--no-flip', 'no random horizontal flips')
    .option(
      '--random-resized-crop [min,max]',
      `torchvision's RandomResizedCrop instead of the padded shifts: a box of a random share of the image's area in [min, max] (default ${DEFAULT_CROP_SCALE.join(',')}) and a random aspect ratio in [3/4, 4/3], stretched to the whole image`,
      numberListFlag(0, 1, 2),
    )
    .option(
      '--color-jitter <b[,c,s[,h]]>',
      "torchvision's ColorJitter: brightness, contrast and saturation factors drawn from [1 − x, 1 + x] and a hue shift from [−h, h] turns, in a random order; one value sets b, c and s (as timm's --color-jitter); grey images take brightness and contrast only",
      numberListFlag(0, 100, 4),
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

/**
 * The library's training settings, as the shared flags give them; the optimizer, lr and momentum
 * from `defaults` when not given. A flag of the other optimizer is refused rather than ignored.
 */
export function trainingSettings(
  flags: TrainingFlags,
  defaults: Pick<TrainingDefaults, 'optimizer' | 'lr'>,
): TrainingSettings {
  if (flags.keepBest === true && flags.validationSize === undefined) {
    throw new CliUsageError(
      'Expected --validation-size with --keep-best: the best weights are chosen on a validation set, never on the test set',
    );
  }
  if (
    flags.earlyStoppingPatience !== undefined &&
    (flags.keepBest !== true || !(flags.evalEvery > 0))
  ) {
    throw new CliUsageError(
      'Expected --keep-best and --eval-every N with --early-stopping-patience: the run stops on validations and ends with its best weights',
    );
  }
  const optimizer = flags.optimizer ?? defaults.optimizer;
  const foreign = OPTIMIZER_ONLY_FLAGS.filter(
    (only) => only.optimizer !== optimizer && flags[only.field] !== undefined,
  ).map((only) => only.flag);
  if (foreign.length > 0) {
    const origin = flags.optimizer ? '' : ' (the default; give --optimizer to change it)';
    throw new CliUsageError(
      `Expected no ${foreign.join(' or ')} with --optimizer ${optimizer}${origin}`,
    );
  }
  return {
    dataset: flags.dataset,
    dataDir: flags.dataDir,
    steps: flags.steps,
    batchSize: flags.batchSize,
    optimizer,
    lr: flags.lr ?? defaults.lr[optimizer],
    momentum: flags.momentum ?? DEFAULT_SGD_MOMENTUM,
    weightDecay: flags.weightDecay,
    beta1: flags.adamBeta1,
    beta2: flags.adamBeta2,
    epsilon: flags.adamEpsilon,
    schedule: flags.schedule,
    warmupRatio: flags.warmupRatio,
    maxGradNorm: flags.maxGradNorm,
    gradientAccumulationSteps: flags.gradientAccumulationSteps,
    evalEvery: flags.evalEvery,
    checkpointEvery: flags.checkpointEvery,
    trainSize: flags.trainSize,
    testSize: flags.testSize,
    validationSize: flags.validationSize,
    keepBest: flags.keepBest,
    earlyStoppingPatience: flags.earlyStoppingPatience,
    augment: flags.augment,
    horizontalFlip: flags.flip,
    ...augmentationFlags(flags),
    seed: flags.seed,
  };
}

/** torchvision's RandomResizedCrop scale. */
const DEFAULT_CROP_SCALE: readonly [number, number] = [0.08, 1];

/** --random-resized-crop and --color-jitter as settings, refused where they cannot apply. */
function augmentationFlags(
  flags: TrainingFlags,
): Pick<TrainingSettings, 'randomResizedCrop' | 'colorJitter'> {
  const settings: Pick<TrainingSettings, 'randomResizedCrop' | 'colorJitter'> = {};
  const crop = flags.randomResizedCrop;
  const jitter = flags.colorJitter;
  if ((crop !== undefined || jitter !== undefined) && !flags.augment) {
    throw new CliUsageError(
      'Expected no --no-augment with --random-resized-crop or --color-jitter: they are training augmentations',
    );
  }
  if (crop !== undefined) {
    const [min, max] = crop === true ? DEFAULT_CROP_SCALE : [crop[0] as number, crop[1] ?? 1];
    if (!(min > 0 && min <= max)) {
      throw new CliUsageError(
        `Expected 0 < min ≤ max for --random-resized-crop but received ${min},${max}`,
      );
    }
    settings.randomResizedCrop = [min, max];
  }
  if (jitter !== undefined) {
    if (jitter.length === 2) {
      throw new CliUsageError(
        `Expected 1, 3 or 4 values (b[,c,s[,h]]) for --color-jitter but received ${jitter.join(',')}`,
      );
    }
    const [brightness, contrast = brightness, saturation = brightness, hue = 0] = jitter as [
      number,
      ...number[],
    ];
    if (hue > 0.5) {
      throw new CliUsageError(
        `Expected a hue shift in [0, 0.5] turns for --color-jitter but received ${hue}`,
      );
    }
    const colorJitter: ColorJitterOptions = { brightness, contrast, saturation, hue };
    settings.colorJitter = colorJitter;
  }
  return settings;
}
