/**
 * Fine-tuning: a pre-trained image classifier (a ViT, or a tfjs Layers model), frozen; a SuperLoRA
 * adapter on its weights (a ViT's attention query and value by default, a Layers model's every
 * weight before its head) and a new classifier head, trained on a dataset. Writes the adapter (SPEC §11), the head and a summary.
 */
import { mkdir } from 'fs/promises';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import type { SuperLoraConfig } from '../config';
import { alignClasses } from '../data/dataset';
import type { EngineChoice } from '../engines/engine';
import { writeFileAtomic } from '../io/atomicWrite';
import { ModelAdapter } from '../tfjs/modelAdapter';
import { classificationTask } from './classificationTask';
import { readAdapterSource } from './adapterSource';
import { writeHeadFile } from './headFile';
import type { ImageClassifier } from './imageClassifier';
import type { InputRange } from './layersClassifier';
import { loadImageClassifier } from './loadImageClassifier';
import { ADAPTER_FILE, HEAD_FILE, SUMMARY_FILE } from './outputFiles';
import type { Progress } from './progress';
import { analyseLrRange, rangeLearningRate, type LrRangeResult } from './lrRange';
import { train, type ResumeMode, type TrainResult, type TrainTask } from './trainLoop';
import { loadTrainTestSplits } from './trainTestSplits';
import {
  augmentationRecord,
  optimizationRecord,
  modelSelectionRecord,
  optimizationSettings,
  trainingAugmentation,
  type TrainingSettings,
} from './trainingSettings';

export interface FinetuneOptions extends TrainingSettings {
  /** A Hugging Face ViT folder or a tfjs Layers model (a folder with model.json, or the .json). */
  modelDir: string;
  /** A tfjs Layers model's input range (layersClassifier.ts); default model.json's, else [0, 1]. */
  inputRange?: InputRange;
  /** The adapter to train from scratch; or give `init`. */
  config?: SuperLoraConfig;
  targetPatterns?: readonly string[];
  /**
   * Start from an existing adapter instead (its config, targets and values; `config` and
   * `targetPatterns` are then unused): anything readAdapterSource takes, an adapter file, a run
   * folder or a PEFT folder, whose head is kept too when it has as many labels as the dataset.
   */
  init?: string;
  engine?: EngineChoice;
  evalBatchSize?: number;
  outDir: string;
  resume: ResumeMode;
  stopAfter?: number;
  progress?: Progress;
}

export interface FinetuneSummary {
  adapterParams: number;
  headParams: number;
  engine: string;
  /** Test accuracy and loss at the end (of the kept weights, with keepBest). */
  accuracy: number | null;
  loss: number | null;
  /** Validation accuracy of the weights the run ended with (the kept ones with keepBest). */
  validationAccuracy: number | null;
  /** With keepBest: the step whose weights were kept. */
  bestStep: number | null;
  /** Whether early stopping ended the run (after `steps` steps). */
  stoppedEarly: boolean;
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  adapterPath: string;
  headPath: string;
  train: TrainResult;
}

/**
 * A new adapter for `options.config`, or the one `options.init` names with its head when it fits
 * (and the head's label names, which the data's classes are then put in the order of).
 */
async function createOrLoadAdapter(
  classifier: ImageClassifier,
  options: FinetuneOptions,
  numClasses: number,
): Promise<{ adapter: ModelAdapter; headLabels?: readonly string[] }> {
  const engine = options.engine ?? 'auto';
  const model = classifier.adaptable;
  if (options.init === undefined) {
    if (!options.config) throw new TypeError('Expected a config or an init adapter to fine-tune');
    const patterns = options.targetPatterns ?? classifier.defaultTargetPatterns;
    return { adapter: ModelAdapter.create(model, options.config, patterns, { engine }) };
  }
  const source = await readAdapterSource(options.init);
  const { head, headPath } = source;
  let headLabels: readonly string[] | undefined;
  if (head && headPath && head.weight.shape[0] === numClasses) {
    try {
      classifier.setHead(head, headPath);
    } catch (error) {
      source.plan.dispose();
      throw error;
    }
    headLabels = head.labels;
    options.progress?.note(`starting from ${source.adapterPath} and its head ${headPath}`);
  } else {
    options.progress?.note(
      `starting from ${source.adapterPath}` +
        (head
          ? ` with a new head (${headPath} has ${head.weight.shape[0]} labels, ${options.dataset} ${numClasses})`
          : ''),
    );
  }
  const adapter = ModelAdapter.attach(
    model,
    source.plan,
    source.params,
    { engine },
    source.adapterPath,
  );
  return { adapter, headLabels };
}

/** A fine-tuning run ready to train: the model with its adapter and new head, the task, the key. */
interface PreparedRun {
  classifier: ImageClassifier;
  adapter: ModelAdapter;
  task: TrainTask;
  runKey: string;
  dispose(): void;
}

async function prepareRun(options: FinetuneOptions): Promise<PreparedRun> {
  const classifier = await loadImageClassifier(options.modelDir, {
    inputRange: options.inputRange,
  });
  let adapter: ModelAdapter | null = null;
  const dispose = () => {
    adapter?.dispose();
    classifier.dispose();
  };
  try {
    let { trainSet, validationSet, testSet } = await loadTrainTestSplits(options, classifier);
    classifier.resetHead(trainSet.numClasses, options.seed, trainSet.classNames);
    const created = await createOrLoadAdapter(classifier, options, trainSet.numClasses);
    adapter = created.adapter;
    const { headLabels } = created;
    if (headLabels) {
      trainSet = alignClasses(trainSet, headLabels);
      testSet = alignClasses(testSet, headLabels);
      validationSet = validationSet && alignClasses(validationSet, headLabels);
    }
    const withDelta = adapter.withDelta.bind(adapter);
    const variables = new Map<string, tf.Variable>([
      ['adapter', adapter.params],
      ...classifier.headVariables,
    ]);
    const task = classificationTask({
      forward: (pixelValues, training, seed) =>
        withDelta((weightOverride) =>
          classifier.logits(pixelValues, { training, seed, weightOverride }),
        ),
      variables,
      train: trainSet,
      validation: validationSet,
      test: testSet,
      batchSize: options.batchSize,
      evalBatchSize: options.evalBatchSize ?? 256,
      imageSize: classifier.imageSize,
      channels: classifier.numChannels,
      augment: trainingAugmentation(options),
      seed: options.seed,
    });
    const runKey = JSON.stringify({
      kind: 'finetune',
      modelDir: options.modelDir,
      ...(options.inputRange ? { inputRange: options.inputRange } : {}),
      init: options.init ?? null,
      dataset: options.dataset,
      config: adapter.plan.config,
      targets: adapter.plan.targets.map((t) => t.name),
      steps: options.steps,
      batchSize: options.batchSize,
      ...optimizationRecord(options),
      trainSize: trainSet.count,
      ...augmentationRecord(options),
      ...modelSelectionRecord(options),
      seed: options.seed,
    });
    await mkdir(options.outDir, { recursive: true });
    return { classifier, adapter, task, runKey, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

export async function finetune(options: FinetuneOptions): Promise<FinetuneSummary> {
  const { classifier, adapter, task, runKey, dispose } = await prepareRun(options);
  try {
    const result = await train(task, {
      steps: options.steps,
      ...optimizationSettings(options),
      evalEvery: options.evalEvery,
      checkpointEvery: options.checkpointEvery,
      runDir: options.outDir,
      resume: options.resume,
      runKey,
      stopAfter: options.stopAfter,
      keepBest: options.keepBest,
      earlyStoppingPatience: options.earlyStoppingPatience,
      progress: options.progress,
    });
    const adapterPath = join(options.outDir, ADAPTER_FILE);
    const headPath = join(options.outDir, HEAD_FILE);
    await adapter.save(adapterPath);
    await writeHeadFile(headPath, classifier.readHead());
    const headParams = [...classifier.headVariables.values()].reduce((sum, v) => sum + v.size, 0);
    const summary: FinetuneSummary = {
      adapterParams: adapter.numParams,
      headParams,
      engine: adapter.engine,
      accuracy: result.finalEval?.accuracy ?? null,
      loss: result.finalEval?.loss ?? null,
      validationAccuracy: result.best?.accuracy ?? result.validation?.accuracy ?? null,
      bestStep: result.best?.step ?? null,
      stoppedEarly: result.stoppedEarly,
      steps: result.completedSteps,
      seconds: result.seconds,
      imagesPerSecond: result.imagesPerSecond,
      adapterPath,
      headPath,
      train: result,
    };
    const { train: _omitted, ...written } = summary;
    await writeFileAtomic(
      join(options.outDir, SUMMARY_FILE),
      `${JSON.stringify({ ...written, config: adapter.plan.config }, null, 2)}\n`,
    );
    return summary;
  } finally {
    dispose();
  }
}

/**
 * The learning-rate range test (lrRange.ts) on the run `options` describes: `options.steps` steps
 * at rates growing from `range.from` to `range.to` (the optimizer, batches and augmentation as
 * finetune would use them), stopping if the loss stops being finite. Writes its log to
 * `options.outDir` (no evaluation, checkpoint or adapter); `resume` is ignored.
 */
export async function findLearningRate(
  options: FinetuneOptions,
  range: { from: number; to: number },
): Promise<LrRangeResult & { seconds: number }> {
  const lrRange = { ...range, steps: options.steps };
  // Checked before the model loads.
  rangeLearningRate(0, lrRange);
  const { task, runKey, dispose } = await prepareRun(options);
  try {
    const result = await train(task, {
      steps: options.steps,
      ...optimizationSettings(options),
      evalEvery: 0,
      checkpointEvery: 0,
      runDir: options.outDir,
      resume: false,
      runKey: JSON.stringify({ lrRange, run: runKey }),
      learningRateAt: (step) => rangeLearningRate(step, lrRange),
      stopOnDivergence: true,
      probe: true,
      progress: options.progress,
    });
    const lrs = Array.from({ length: options.steps }, (_, step) =>
      rangeLearningRate(step, lrRange),
    );
    return { ...analyseLrRange(lrs, result.losses), seconds: result.seconds };
  } finally {
    dispose();
  }
}
