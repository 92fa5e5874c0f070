/**
 * The training loop shared by fine-tuning and pre-training: SGD with momentum or AdamW under a
 * learning-rate schedule (OneCycle by default), optional clipping of the gradients' global norm,
 * evaluation every N steps (on a validation set when the task has one, keeping the best weights if
 * asked, then on the test set at the end), progress, a JSON-lines log, atomic checkpoints every N
 * steps, and exact resume. Batches and dropout are functions of the step, so a resumed run computes the
 * same losses as an uninterrupted one.
 */
import { existsSync } from 'fs';
import { mkdir, unlink } from 'fs/promises';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  CheckpointError,
  checkpointRunKey,
  type BestWeights,
  loadCheckpoint,
  saveCheckpoint,
  type NamedArray,
} from './checkpoint';
import { removeStaleTemporaries } from '../io/atomicWrite';
import { clipByGlobalNorm } from './gradientClipping';
import { JsonlLog } from './jsonlLog';
import { LOG_FILE } from './outputFiles';
import { createOptimizer, type Optimizer } from './optimizer';
import { Progress } from './progress';
import { learningRate } from './schedule';
import type { OptimizationSettings } from './trainingSettings';

export interface TrainTask {
  /** What is trained, by stable name. */
  variables: Map<string, tf.Variable>;
  /** Images per batch. */
  batchSize: number;
  /**
   * Logits and labels of batch `batch` (deterministic in `batch`). Step s trains on batches
   * s·A … s·A + A − 1, A = gradientAccumulationSteps (1: batch s).
   */
  trainBatch(batch: number): { logits: tf.Tensor2D; labels: tf.Tensor1D };
  /** Loss and accuracy on the test set. */
  evaluate(): Promise<{ loss: number; accuracy: number }>;
  /**
   * Loss and accuracy on a validation set, when the task has one: the evaluations during training
   * use it, and `evaluate` runs once, at the end.
   */
  validate?(): Promise<{ loss: number; accuracy: number }>;
}

export type ResumeMode = boolean | 'if-same-run';

export interface TrainOptions extends OptimizationSettings {
  steps: number;
  /** Evaluate every N steps (0: only at the end). */
  evalEvery: number;
  /** Checkpoint every N steps (0: only at the end). */
  checkpointEvery: number;
  /** Where the log and checkpoint go. */
  runDir: string;
  /**
   * Continue from runDir's checkpoint: `true` refuses a checkpoint of another run (see `runKey`);
   * `'if-same-run'` starts over when the checkpoint belongs to another run (a sweep reusing a folder).
   */
  resume: ResumeMode;
  /** Identifies the run; a checkpoint with another key is refused. */
  runKey: string;
  /** Stop after this many steps of this invocation (tests interrupt runs with it). */
  stopAfter?: number;
  /**
   * End with the weights of the best validation accuracy (the earliest of equals) rather than the
   * last step's; the task must have a validation set.
   */
  keepBest?: boolean;
  /**
   * Stop when this many validations in a row have not beaten the best accuracy (Hugging Face's
   * EarlyStoppingCallback); needs keepBest, and the run ends with the best weights.
   */
  earlyStoppingPatience?: number;
  /** The learning rate of each step, instead of the schedule (the learning-rate range test). */
  learningRateAt?: (step: number) => number;
  /** End the run, rather than throw, when the loss stops being finite (the range test). */
  stopOnDivergence?: boolean;
  /**
   * A probe of the training itself (the range test): the log only, with no evaluation and no
   * checkpoint, not even at the end; evalEvery and checkpointEvery must be 0.
   */
  probe?: boolean;
  progress?: Progress;
}

export interface TrainResult {
  completedSteps: number;
  resumedFrom: number;
  /** The test set's loss and accuracy at the end (of the kept weights); null for a stopped run. */
  finalEval: { loss: number; accuracy: number } | null;
  /** The last validation (step: completed steps), for a task with a validation set. */
  validation: { step: number; loss: number; accuracy: number } | null;
  /** The weights kept with keepBest: their step and validation accuracy. */
  best: { step: number; accuracy: number } | null;
  /** Whether early stopping ended the run (at completedSteps). */
  stoppedEarly: boolean;
  losses: number[];
  seconds: number;
  imagesPerSecond: number;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(2)}%`;
}

/** The variables' values; copies (`copy`) when they must outlive later updates. */
function snapshot(variables: Map<string, tf.Variable>, copy = false): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [name, variable] of variables) {
    const values = variable.dataSync() as Float32Array;
    out.set(name, { shape: variable.shape, values: copy ? values.slice() : values });
  }
  return out;
}

function restore(
  variables: Map<string, tf.Variable>,
  params: ReadonlyMap<string, NamedArray>,
  source: string,
): void {
  for (const [name, array] of params) {
    const variable = variables.get(name);
    if (!variable) throw new Error(`${source}: no trainable variable named ${name}`);
    variable.assign(tf.tensor(array.values, array.shape, 'float32'));
  }
}

/** Mean softmax cross-entropy of logits [B, C] against integer labels [B]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const classes = logits.shape[1];
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels.toInt(), classes), logits) as tf.Scalar;
}

/**
 * The loss, correct predictions and gradients (by stable name) of step `step`: the mean over its
 * `accumulation` batches, each batch's gradient computed and added before the next batch runs.
 * Each batch's loss is divided by `accumulation` before the gradient, so the sum is the mean with
 * no pass over the gradients; with one batch, exactly tf.variableGrads' result.
 */
async function accumulatedGradients(
  task: TrainTask,
  step: number,
  accumulation: number,
  byTfName: ReadonlyMap<string, string>,
): Promise<{ loss: number; correct: number; gradients: Map<string, tf.Tensor> }> {
  let loss = 0;
  let correct = 0;
  let gradients: Map<string, tf.Tensor> | null = null;
  for (let part = 0; part < accumulation; part++) {
    const { value, grads } = tf.variableGrads(() => {
      const { logits, labels } = task.trainBatch(step * accumulation + part);
      correct += tf.tidy(
        () => logits.argMax(1).equal(labels.toInt()).sum().dataSync()[0] as number,
      );
      const batchLoss = crossEntropy(logits, labels);
      return accumulation === 1 ? batchLoss : batchLoss.div(accumulation);
    }, [...task.variables.values()]);
    loss += (await value.data())[0] as number;
    value.dispose();
    const named = new Map(
      Object.entries(grads).map(([tfName, grad]) => [byTfName.get(tfName) ?? tfName, grad]),
    );
    if (gradients === null) {
      gradients = named;
      continue;
    }
    for (const [name, grad] of named) {
      const previous = gradients.get(name) as tf.Tensor;
      gradients.set(name, previous.add(grad));
      tf.dispose([previous, grad]);
    }
  }
  return { loss, correct, gradients: gradients as Map<string, tf.Tensor> };
}

export async function train(task: TrainTask, options: TrainOptions): Promise<TrainResult> {
  const optimizer = createOptimizer(options);
  try {
    return await runTraining(task, options, optimizer);
  } finally {
    // Also when training throws: the optimizer's state variables are registered by name.
    optimizer.dispose();
  }
}

async function runTraining(
  task: TrainTask,
  options: TrainOptions,
  optimizer: Optimizer,
): Promise<TrainResult> {
  await mkdir(options.runDir, { recursive: true });
  const checkpointPath = join(options.runDir, CHECKPOINT_FILE);
  // A killed run's checkpoint temporary (as large as the checkpoint) goes now, not at the first
  // checkpoint, which may never come; the log's goes with the log's rewrite below (truncateAfter).
  await removeStaleTemporaries(checkpointPath);
  const log = new JsonlLog(join(options.runDir, LOG_FILE));
  const progress = options.progress ?? new Progress();
  const accumulation = options.gradientAccumulationSteps ?? 1;
  if (!(Number.isInteger(accumulation) && accumulation >= 1)) {
    throw new RangeError(
      `Expected a positive integer gradientAccumulationSteps but received ${accumulation}`,
    );
  }
  const imagesPerStep = task.batchSize * accumulation;
  const byTfName = new Map([...task.variables].map(([name, variable]) => [variable.name, name]));

  if (options.keepBest && !task.validate) {
    throw new RangeError('keepBest needs a validation set to choose the best weights by');
  }
  const patience = options.earlyStoppingPatience;
  if (patience !== undefined) {
    if (!(Number.isInteger(patience) && patience >= 1)) {
      throw new RangeError(`Expected a positive integer patience but received ${patience}`);
    }
    if (!options.keepBest || !(options.evalEvery > 0)) {
      throw new RangeError(
        'earlyStoppingPatience needs keepBest and evaluations every N steps (evalEvery > 0)',
      );
    }
  }
  if (
    options.probe &&
    (options.evalEvery !== 0 || options.checkpointEvery !== 0 || options.keepBest === true)
  ) {
    throw new RangeError('A probe run neither evaluates nor checkpoints nor keeps weights');
  }
  let stoppedEarly = false;
  let best: BestWeights | null = null;
  let lastValidation: TrainResult['validation'] = null;
  let start = 0;
  if (
    options.resume === 'if-same-run' &&
    existsSync(checkpointPath) &&
    (await checkpointRunKey(checkpointPath)) !== options.runKey
  ) {
    progress.note(`${checkpointPath} belongs to another run: starting over`);
    await unlink(checkpointPath);
  }
  if (options.resume !== false && existsSync(checkpointPath)) {
    const shapes = new Map([...task.variables].map(([name, variable]) => [name, variable.shape]));
    const state = await loadCheckpoint(checkpointPath, options.runKey, shapes);
    restore(task.variables, state.params, checkpointPath);
    best = state.best ?? null;
    stoppedEarly = state.stoppedEarly === true;
    try {
      optimizer.load(state.optimizerState);
    } catch (error) {
      throw new CheckpointError(`${checkpointPath}: ${(error as Error).message}`);
    }
    start = state.completedSteps;
    await log.truncateAfter(start);
    progress.note(`resumed from ${checkpointPath} after ${start} steps`);
  } else {
    if (options.resume === true) {
      progress.note(`nothing to resume: no checkpoint in ${options.runDir}, starting at step 0`);
    }
    await log.truncateAfter(0);
  }

  const checkpoint = async (completedSteps: number): Promise<void> => {
    await saveCheckpoint(checkpointPath, {
      completedSteps,
      runKey: options.runKey,
      params: snapshot(task.variables),
      optimizerState: new Map(
        [...optimizer.slots].map(([slot, buffers]) => [slot, snapshot(buffers)]),
      ),
      ...(best ? { best } : {}),
      ...(stoppedEarly ? { stoppedEarly } : {}),
    });
  };

  const losses: number[] = [];
  // A run that stopped early is finished: resuming it trains no further.
  let end = stoppedEarly ? start : Math.min(options.steps, start + (options.stopAfter ?? Infinity));
  const began = performance.now();
  let finalEval: TrainResult['finalEval'] = null;
  for (let step = start; step < end; step++) {
    const lr =
      options.learningRateAt?.(step) ??
      learningRate(step, {
        schedule: options.schedule ?? 'onecycle',
        maxLr: options.lr,
        totalSteps: options.steps,
        warmupRatio: options.warmupRatio,
      });
    const { loss, correct, gradients } = await accumulatedGradients(
      task,
      step,
      accumulation,
      byTfName,
    );
    const clipped = clipByGlobalNorm(gradients, options.maxGradNorm ?? 0);
    optimizer.apply(task.variables, clipped.gradients, lr, step + 1);
    tf.dispose([...gradients.values(), ...clipped.gradients.values()]);
    if (!Number.isFinite(loss) && options.stopOnDivergence) {
      progress.note(
        `the loss became ${loss} at step ${step + 1} (lr ${lr.toPrecision(3)}): stopped`,
      );
      end = step;
      break;
    }
    if (!Number.isFinite(loss)) {
      throw new Error(
        `The loss became ${loss} at step ${step + 1} (lr ${lr.toPrecision(3)}); lower --lr`,
      );
    }
    losses.push(loss);
    const seconds = (performance.now() - began) / 1000;
    const done = step + 1 - start;
    const imagesPerSecond = (done * imagesPerStep) / seconds;
    await log.append({
      kind: 'train',
      step,
      loss,
      accuracy: correct / imagesPerStep,
      lr,
      gradNorm: clipped.norm,
      imagesPerSecond,
    });
    progress.update({
      step,
      totalSteps: options.steps,
      loss,
      accuracy: correct / imagesPerStep,
      imagesPerSecond,
      secondsLeft: ((options.steps - step - 1) * seconds) / done,
    });
    if (options.probe) continue;
    let last = step + 1 === options.steps;
    const evaluating = last || (options.evalEvery > 0 && (step + 1) % options.evalEvery === 0);
    if (evaluating && task.validate) {
      const validation = await task.validate();
      await log.append({ kind: 'eval', split: 'validation', step, ...validation });
      progress.note(
        `step ${step + 1}: validation loss ${validation.loss.toFixed(4)}, accuracy ${percent(validation.accuracy)}`,
      );
      lastValidation = { step: step + 1, ...validation };
      if (options.keepBest && (best === null || validation.accuracy > best.accuracy)) {
        best = {
          step: step + 1,
          accuracy: validation.accuracy,
          params: snapshot(task.variables, true),
        };
      }
      // Validations since the best one (they come every evalEvery steps).
      const since =
        best === null
          ? 0
          : Math.floor((step + 1) / options.evalEvery) - Math.floor(best.step / options.evalEvery);
      if (patience !== undefined && !last && since >= patience) {
        stoppedEarly = true;
        last = true;
        end = step + 1;
        progress.note(
          `stopped early at step ${step + 1}: ${since} validations without beating step ${best?.step}`,
        );
      }
    } else if (evaluating) {
      finalEval = await task.evaluate();
      await log.append({ kind: 'eval', step, ...finalEval });
      progress.note(
        `step ${step + 1}: test loss ${finalEval.loss.toFixed(4)}, accuracy ${percent(finalEval.accuracy)}`,
      );
    }
    if (last || (options.checkpointEvery > 0 && (step + 1) % options.checkpointEvery === 0)) {
      await checkpoint(step + 1);
    }
    if (last && task.validate) {
      const kept = best !== null && best.step !== step + 1 ? best : null;
      if (kept) {
        restore(task.variables, kept.params, 'the best weights');
        progress.note(
          `kept the weights of step ${kept.step} (validation accuracy ${percent(kept.accuracy)})`,
        );
      }
      finalEval = await task.evaluate();
      await log.append({
        kind: 'eval',
        split: 'test',
        step,
        ...(kept ? { weightsOfStep: kept.step } : {}),
        ...finalEval,
      });
      progress.note(
        `test loss ${finalEval.loss.toFixed(4)}, accuracy ${percent(finalEval.accuracy)}`,
      );
    }
  }
  const seconds = (performance.now() - began) / 1000;
  return {
    completedSteps: end,
    resumedFrom: start,
    finalEval: end === options.steps || stoppedEarly ? finalEval : null,
    validation: lastValidation,
    best: best ? { step: best.step, accuracy: best.accuracy } : null,
    stoppedEarly,
    losses,
    seconds,
    imagesPerSecond: ((end - start) * imagesPerStep) / Math.max(seconds, 1e-9),
  };
}
