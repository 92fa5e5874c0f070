/**
 * The settings every config of a sweep shares: the model, the adapted weights, and the data and
 * schedule of `finetune`.
 */
import { relative, resolve } from 'path';
import type { EngineChoice } from '../engines/engine';
import type { BackendChoice } from '../tfjs/backend';
import type { InputRange } from '../train/layersClassifier';
import {
  augmentationRecord,
  modelSelectionRecord,
  optimizationRecord,
  type TrainingSettings,
} from '../train/trainingSettings';

export interface SweepSettings extends TrainingSettings {
  modelDir: string;
  /** A tfjs Layers model's input range, when not its model.json's. */
  inputRange?: InputRange;
  targetPatterns: readonly string[];
  engine: EngineChoice;
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
    ...(settings.inputRange ? { inputRange: [...settings.inputRange] } : {}),
    dataset: settings.dataset,
    targets: [...settings.targetPatterns],
    steps: settings.steps,
    batchSize: settings.batchSize,
    ...optimizationRecord(settings),
    trainSize: settings.trainSize ?? null,
    testSize: settings.testSize ?? null,
    ...augmentationRecord(settings),
    ...modelSelectionRecord(settings),
    seed: settings.seed,
  };
}
