/**
 * The data, optimizer, schedule and run settings that fine-tuning, pre-training and every config of
 * a sweep share: one definition, so the CLI maps its flags to them in one place.
 */
import { defaultAugmentation, type AugmentOptions } from '../data/batchAt';
import type { ColorJitterOptions } from '../data/colorJitter';
import type { DatasetSource } from '../data/dataset';
import type { OptimizerSettings } from './optimizer';
import type { ScheduleName } from './schedule';

/** How the trained variables move: the optimizer, the learning-rate schedule and gradient clipping. */
export interface OptimizationSettings extends OptimizerSettings {
  /** Peak learning rate of the schedule. */
  lr: number;
  /** Default `onecycle`. */
  schedule?: ScheduleName;
  /** Share of the steps spent warming up (default: 0.3 for onecycle, 0 for the others). */
  warmupRatio?: number;
  /** Clip the gradients' global L2 norm to this (0 or absent: no clipping). */
  maxGradNorm?: number;
  /**
   * Batches whose gradients are averaged into each update (default 1): an update sees this many
   * times the batch size of images, with the memory of one batch.
   */
  gradientAccumulationSteps?: number;
}

export interface TrainingSettings extends OptimizationSettings {
  /** A built-in dataset's name, or a folder of images. */
  dataset: DatasetSource;
  /** Folder of CIFAR binary files, for cifar10 / cifar100. */
  dataDir?: string;
  steps: number;
  batchSize: number;
  /** Evaluate every N steps besides the end (0: at the end only). */
  evalEvery: number;
  /** Checkpoint every N steps (0: at the end only). */
  checkpointEvery: number;
  /** Use this many training / test images (class-stratified); all when absent. */
  trainSize?: number;
  testSize?: number;
  /**
   * Hold out this many training images (class-stratified, the same for every seed) as a
   * validation set: the evaluations during training use it, and the test set is evaluated once,
   * at the end.
   */
  validationSize?: number;
  /** With a validation set: end with the weights of its best accuracy, not the last step's. */
  keepBest?: boolean;
  /** With keepBest: stop after this many validations in a row without a new best. */
  earlyStoppingPatience?: number;
  /** Training augmentation (default on). */
  augment?: boolean;
  /** Random horizontal flips when augmenting; default the dataset's (see defaultAugmentation). */
  horizontalFlip?: boolean;
  /**
   * torchvision's RandomResizedCrop instead of the padded shifts when augmenting: the box's share of
   * the area in [min, max] (torchvision's default [0.08, 1]), its aspect ratio in [3/4, 4/3].
   */
  randomResizedCrop?: readonly [number, number];
  /** torchvision's ColorJitter when augmenting. */
  colorJitter?: ColorJitterOptions;
  seed: number;
}

/** Every field of OptimizationSettings: the ones a run record always has, then the others with their defaults. */
const ALWAYS_RECORDED = ['lr', 'momentum', 'weightDecay'] as const;
const RECORDED_UNLESS_DEFAULT: Required<{
  [field in Exclude<keyof OptimizationSettings, (typeof ALWAYS_RECORDED)[number]>]: unknown;
}> = {
  optimizer: 'sgd',
  beta1: undefined,
  beta2: undefined,
  epsilon: undefined,
  schedule: 'onecycle',
  warmupRatio: undefined,
  maxGradNorm: 0,
  gradientAccumulationSteps: 1,
};

/**
 * The optimization settings that identify a run, for run keys and sweep records: lr, momentum and
 * weight decay always; the rest only where they differ from the defaults, so runs and sweeps made
 * with SGD under OneCycle before the other choices existed still resume.
 */
export function optimizationRecord(settings: OptimizationSettings): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const field of ALWAYS_RECORDED) record[field] = settings[field];
  for (const [field, byDefault] of Object.entries(RECORDED_UNLESS_DEFAULT)) {
    const value = settings[field as keyof typeof RECORDED_UNLESS_DEFAULT];
    if (value !== undefined && value !== byDefault) record[field] = value;
  }
  return record;
}

/** Only the optimization fields of `settings`, for the training loop. */
export function optimizationSettings(settings: OptimizationSettings): OptimizationSettings {
  const picked: Record<string, unknown> = {};
  for (const field of [...ALWAYS_RECORDED, ...Object.keys(RECORDED_UNLESS_DEFAULT)]) {
    picked[field] = settings[field as keyof OptimizationSettings];
  }
  return picked as unknown as OptimizationSettings;
}

/**
 * The validation settings that identify a run, for run keys and sweep records: present only when
 * set, so runs made before they existed still resume.
 */
export function modelSelectionRecord(
  settings: Pick<TrainingSettings, 'validationSize' | 'keepBest' | 'earlyStoppingPatience'>,
): Record<string, unknown> {
  const patience = settings.earlyStoppingPatience;
  return {
    ...(settings.validationSize !== undefined ? { validationSize: settings.validationSize } : {}),
    ...(settings.keepBest ? { keepBest: true } : {}),
    ...(patience !== undefined ? { earlyStoppingPatience: patience } : {}),
  };
}

/**
 * One line for progress notes: `sgd lr 0.3 (onecycle)`, `adamw lr 0.01 (cosine, clip 1)`,
 * `adamw lr 0.03 (onecycle, 4 batches per update)`.
 */
export function describeOptimization(settings: OptimizationSettings): string {
  const clip = settings.maxGradNorm ? `, clip ${settings.maxGradNorm}` : '';
  const accumulation = settings.gradientAccumulationSteps ?? 1;
  const batches = accumulation > 1 ? `, ${accumulation} batches per update` : '';
  return `${settings.optimizer ?? 'sgd'} lr ${settings.lr} (${settings.schedule ?? 'onecycle'}${clip}${batches})`;
}

/** The augmentation settings that identify a run, for run keys and sweep records: those given. */
export function augmentationRecord(
  settings: Pick<
    TrainingSettings,
    'augment' | 'horizontalFlip' | 'randomResizedCrop' | 'colorJitter'
  >,
): Record<string, unknown> {
  return {
    augment: settings.augment !== false,
    ...(settings.horizontalFlip !== undefined ? { horizontalFlip: settings.horizontalFlip } : {}),
    ...(settings.randomResizedCrop !== undefined
      ? { randomResizedCrop: [...settings.randomResizedCrop] }
      : {}),
    ...(settings.colorJitter !== undefined ? { colorJitter: { ...settings.colorJitter } } : {}),
  };
}

/**
 * What a run trains with: no augmentation, or the dataset's default with its flips overridden and
 * the resized crop and colour jitter added where asked for.
 */
export function trainingAugmentation(
  settings: Pick<
    TrainingSettings,
    'dataset' | 'augment' | 'horizontalFlip' | 'randomResizedCrop' | 'colorJitter'
  >,
): AugmentOptions | false {
  if (settings.augment === false) {
    if (settings.randomResizedCrop !== undefined || settings.colorJitter !== undefined) {
      throw new RangeError(
        'Expected augment with randomResizedCrop or colorJitter: they are training augmentations',
      );
    }
    return false;
  }
  const augmentation: AugmentOptions = { ...defaultAugmentation(settings.dataset) };
  if (settings.horizontalFlip !== undefined) augmentation.horizontalFlip = settings.horizontalFlip;
  if (settings.randomResizedCrop !== undefined) {
    augmentation.randomResizedCrop = { scale: settings.randomResizedCrop };
  }
  if (settings.colorJitter !== undefined) augmentation.colorJitter = settings.colorJitter;
  return augmentation;
}
