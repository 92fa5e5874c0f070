/**
 * The data, schedule and run settings that fine-tuning, pre-training and every config of a sweep
 * share: one definition, so the CLI maps its flags to them in one place.
 */
import type { DatasetName } from '../data/dataset';

export interface TrainingSettings {
  dataset: DatasetName;
  /** Folder of CIFAR binary files, for cifar10 / cifar100. */
  dataDir?: string;
  steps: number;
  batchSize: number;
  /** Peak learning rate of the OneCycle schedule. */
  lr: number;
  momentum: number;
  weightDecay: number;
  /** Evaluate every N steps besides the end (0: at the end only). */
  evalEvery: number;
  /** Checkpoint every N steps (0: at the end only). */
  checkpointEvery: number;
  /** Use this many training / test images (class-stratified); all when absent. */
  trainSize?: number;
  testSize?: number;
  /** Training augmentation (default on). */
  augment?: boolean;
  seed: number;
}
