/**
 * Training checkpoints: trainable tensors (`param/<name>`) and the optimizer's state
 * (`<slot>/<name>`: `momentum/…` for SGD, `exp_avg/…` and `exp_avg_sq/…` for AdamW) in one
 * safetensors file, written atomically (a kill mid-write leaves the previous checkpoint intact),
 * plus the number of completed steps and a run key that must match on resume (same model, data,
 * adapter, optimizer and schedule); and, for a run that keeps its best weights, those weights
 * (`best/<name>`) with the step and validation accuracy they had.
 */
import {
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type SafeTensor,
} from '../io/safetensors';

export const CHECKPOINT_FORMAT = 'superlora-checkpoint';

export interface NamedArray {
  shape: number[];
  values: Float32Array;
}

export interface CheckpointState {
  completedSteps: number;
  runKey: string;
  params: Map<string, NamedArray>;
  /** The optimizer's state tensors by slot, then by variable name. */
  optimizerState: Map<string, Map<string, NamedArray>>;
  /** The best weights so far, by validation accuracy (runs that keep them). */
  best?: BestWeights;
  /** The run stopped early here (early stopping): resuming it trains no further. */
  stoppedEarly?: boolean;
}

export interface BestWeights {
  /** Completed steps when they were evaluated. */
  step: number;
  accuracy: number;
  params: Map<string, NamedArray>;
}

const PARAM_PREFIX = 'param';
const BEST_PREFIX = 'best';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export async function saveCheckpoint(path: string, state: CheckpointState): Promise<void> {
  const tensors = new Map<string, SafeTensor>();
  const groups = [
    [PARAM_PREFIX, state.params],
    ...state.optimizerState,
    ...(state.best ? [[BEST_PREFIX, state.best.params] as const] : []),
  ] as const;
  for (const [prefix, group] of groups) {
    for (const [name, array] of group) {
      tensors.set(`${prefix}/${name}`, { dtype: 'F32', shape: array.shape, data: array.values });
    }
  }
  await writeSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    version: '1',
    completedSteps: String(state.completedSteps),
    runKey: state.runKey,
    ...(state.best
      ? { bestStep: String(state.best.step), bestAccuracy: String(state.best.accuracy) }
      : {}),
    ...(state.stoppedEarly ? { stoppedEarly: 'true' } : {}),
  });
}

/** The run key a checkpoint was written with, read from its header only. */
export async function checkpointRunKey(path: string): Promise<string | undefined> {
  const { metadata } = await readSafetensorsHeader(path);
  return metadata.format === CHECKPOINT_FORMAT ? metadata.runKey : undefined;
}

/**
 * Reads a checkpoint and checks it against the run. With `expectedShapes` (the trainable variables'
 * names and shapes), every variable must be in the file with its shape, nothing else may be, and
 * every optimizer state tensor must belong to a variable of the same shape: a partial restore would
 * silently lose completed steps. Every error names the file.
 */
export async function loadCheckpoint(
  path: string,
  expectedRunKey: string,
  expectedShapes?: ReadonlyMap<string, readonly number[]>,
): Promise<CheckpointState> {
  const { metadata, tensors } = await readSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT || metadata.version !== '1') {
    throw new CheckpointError(
      `${path}: not a superlora checkpoint (format ${JSON.stringify(metadata.format)})`,
    );
  }
  if (metadata.runKey !== expectedRunKey) {
    throw new CheckpointError(
      `${path}: this checkpoint belongs to a different run (model, data, adapter or schedule differ); ` +
        `start a new run directory or drop --resume`,
    );
  }
  const completedSteps = Number(metadata.completedSteps);
  if (!Number.isSafeInteger(completedSteps) || completedSteps < 0) {
    throw new CheckpointError(
      `${path}: invalid completedSteps ${JSON.stringify(metadata.completedSteps)}`,
    );
  }
  const params = new Map<string, NamedArray>();
  const optimizerState = new Map<string, Map<string, NamedArray>>();
  for (const [name, tensor] of tensors) {
    const slash = name.indexOf('/');
    if (slash <= 0 || tensor.dtype !== 'F32')
      throw new CheckpointError(`${path}: unexpected tensor ${name} (${tensor.dtype})`);
    const prefix = name.slice(0, slash);
    let group = prefix === PARAM_PREFIX ? params : optimizerState.get(prefix);
    if (!group) {
      group = new Map();
      optimizerState.set(prefix, group);
    }
    group.set(name.slice(slash + 1), { shape: tensor.shape, values: tensor.data });
  }
  const bestParams = optimizerState.get(BEST_PREFIX);
  optimizerState.delete(BEST_PREFIX);
  if (expectedShapes) {
    checkShapes(path, params, optimizerState, expectedShapes);
    if (bestParams) checkShapes(path, bestParams, new Map(), expectedShapes, BEST_PREFIX);
  }
  const state: CheckpointState = { completedSteps, runKey: expectedRunKey, params, optimizerState };
  if (metadata.stoppedEarly === 'true') state.stoppedEarly = true;
  if (bestParams) {
    const step = Number(metadata.bestStep);
    const accuracy = Number(metadata.bestAccuracy);
    if (!Number.isSafeInteger(step) || !Number.isFinite(accuracy)) {
      throw new CheckpointError(
        `${path}: best/ tensors without a valid bestStep and bestAccuracy (${JSON.stringify(metadata.bestStep)}, ${JSON.stringify(metadata.bestAccuracy)})`,
      );
    }
    state.best = { step, accuracy, params: bestParams };
  }
  return state;
}

function checkShapes(
  path: string,
  params: Map<string, NamedArray>,
  optimizerState: Map<string, Map<string, NamedArray>>,
  expected: ReadonlyMap<string, readonly number[]>,
  prefix = PARAM_PREFIX,
): void {
  const show = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
  const same = (a: readonly number[], b: readonly number[]): boolean =>
    a.length === b.length && a.every((size, i) => size === b[i]);
  for (const [name, shape] of expected) {
    const saved = params.get(name);
    if (!saved) {
      throw new CheckpointError(`${path}: missing tensor ${prefix}/${name} (shape ${show(shape)})`);
    }
    if (!same(saved.shape, shape)) {
      throw new CheckpointError(
        `${path}: Expected shape ${show(shape)} for tensor ${prefix}/${name} but received ${show(saved.shape)}`,
      );
    }
  }
  for (const name of params.keys()) {
    if (!expected.has(name)) {
      throw new CheckpointError(`${path}: tensor ${prefix}/${name} is not a variable of this run`);
    }
  }
  for (const [slot, buffers] of optimizerState) {
    for (const [name, buffer] of buffers) {
      const shape = expected.get(name);
      if (!shape || !same(buffer.shape, shape)) {
        throw new CheckpointError(
          `${path}: ${slot}/${name} ${show(buffer.shape)} matches no variable of this run` +
            (shape ? ` (param/${name} is ${show(shape)})` : ''),
        );
      }
    }
  }
}
