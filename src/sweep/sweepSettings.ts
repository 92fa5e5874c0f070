/** The training settings every config of a sweep shares (same model, data, steps and seed). */
import { relative, resolve } from 'path';
import type { DatasetName } from '../data/dataset';
import type { EngineChoice } from '../engines/engine';
import type { BackendChoice } from '../tfjs/backend';

export interface SweepSettings {
  modelDir: string;
  dataset: DatasetName;
  dataDir?: string;
  targetPatterns: readonly string[];
  engine: EngineChoice;
  steps: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  trainSize?: number;
  testSize?: number;
  augment: boolean;
  seed: number;
  /** Evaluate every N steps besides the end (default 0: at the end only). */
  evalEvery?: number;
  /** Checkpoint every N steps (default 0: at the end only); an interrupted config restarts anyway. */
  checkpointEvery?: number;
  backend: BackendChoice;
  nativeKernels?: boolean;
}

/**
 * What a results row records of its settings: everything that changes the result, and not how it
 * was computed (engine, backend, threads). A resumed sweep reuses a row only if this matches.
 */
export function settingsRecord(settings: SweepSettings): Record<string, unknown> {
  return {
    model: relative(process.cwd(), resolve(settings.modelDir)) || '.',
    dataset: settings.dataset,
    targets: [...settings.targetPatterns],
    steps: settings.steps,
    batchSize: settings.batchSize,
    lr: settings.lr,
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
    trainSize: settings.trainSize ?? null,
    testSize: settings.testSize ?? null,
    augment: settings.augment,
    seed: settings.seed,
  };
}
