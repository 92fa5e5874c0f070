/**
 * Pre-training a small ViT from scratch (every weight trained), written as a Hugging Face model
 * directory (config.json + model.safetensors) that `finetune` and other tools load unchanged.
 */
import { mkdir } from 'fs/promises';
import { join } from 'path';
import { writeFileAtomic } from '../io/atomicWrite';
import { VIT_CONFIG_DEFAULTS, type ViTConfig } from '../vit/config';
import { saveViT } from '../vit/io';
import { createViT } from '../vit/model';
import { classificationTask } from './classificationTask';
import type { Progress } from './progress';
import { train, type TrainResult } from './trainLoop';
import { loadTrainTestSplits } from './trainTestSplits';
import {
  optimizationRecord,
  optimizationSettings,
  trainingAugmentation,
  type TrainingSettings,
} from './trainingSettings';

export interface PretrainOptions extends TrainingSettings {
  model: Partial<ViTConfig>;
  evalBatchSize?: number;
  /** The model directory to write; the run's log and checkpoint go to `${outDir}/run`. */
  outDir: string;
  resume: boolean;
  stopAfter?: number;
  progress?: Progress;
}

export async function pretrain(
  options: PretrainOptions,
): Promise<{ params: number; train: TrainResult }> {
  const { trainSet, validationSet, testSet } = await loadTrainTestSplits(options, {
    imageSize: options.model.imageSize ?? VIT_CONFIG_DEFAULTS.imageSize,
    numChannels: options.model.numChannels ?? VIT_CONFIG_DEFAULTS.numChannels,
  });
  const vit = createViT(
    { ...options.model, numLabels: trainSet.numClasses, id2label: [...trainSet.classNames] },
    { seed: options.seed },
  );
  try {
    const task = classificationTask({
      forward: (pixelValues, training, seed) => vit.forward(pixelValues, { training, seed }),
      variables: vit.weights,
      train: trainSet,
      validation: validationSet,
      test: testSet,
      batchSize: options.batchSize,
      evalBatchSize: options.evalBatchSize ?? 256,
      imageSize: vit.config.imageSize,
      channels: vit.config.numChannels,
      augment: trainingAugmentation(options),
      seed: options.seed,
    });
    const runDir = join(options.outDir, 'run');
    await mkdir(runDir, { recursive: true });
    const result = await train(task, {
      steps: options.steps,
      ...optimizationSettings(options),
      evalEvery: options.evalEvery,
      checkpointEvery: options.checkpointEvery,
      runDir,
      resume: options.resume,
      runKey: JSON.stringify({
        kind: 'pretrain',
        ...options,
        progress: undefined,
        stopAfter: undefined,
        resume: undefined,
      }),
      stopAfter: options.stopAfter,
      keepBest: options.keepBest,
      earlyStoppingPatience: options.earlyStoppingPatience,
      progress: options.progress,
    });
    await saveViT(options.outDir, vit);
    await writeFileAtomic(
      join(options.outDir, 'training.json'),
      `${JSON.stringify({ dataset: options.dataset, steps: result.completedSteps, batchSize: options.batchSize, ...optimizationRecord(options), seed: options.seed, testAccuracy: result.finalEval?.accuracy ?? null, testLoss: result.finalEval?.loss ?? null, ...(result.validation ? { validationAccuracy: result.validation.accuracy, validationImages: validationSet?.count } : {}), ...(result.best ? { keptStep: result.best.step } : {}), trainImages: trainSet.count, testImages: testSet.count, seconds: result.seconds }, null, 2)}\n`,
    );
    return { params: vit.numParams, train: result };
  } finally {
    vit.dispose();
  }
}
