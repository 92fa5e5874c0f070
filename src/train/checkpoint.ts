/**
 * Training checkpoints: trainable tensors and optimizer buffers in one safetensors file, written
 * atomically (a kill mid-write leaves the previous checkpoint intact), plus the number of completed
 * steps and a run key that must match on resume (same model, data, adapter and schedule).
 */
import { readSafetensors, writeSafetensors, type SafeTensor } from '../io/safetensors';

export const CHECKPOINT_FORMAT = 'superlora-checkpoint';

export interface NamedArray {
  shape: number[];
  values: Float32Array;
}

export interface CheckpointState {
  completedSteps: number;
  runKey: string;
  params: Map<string, NamedArray>;
  momentum: Map<string, NamedArray>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export async function saveCheckpoint(path: string, state: CheckpointState): Promise<void> {
  const tensors = new Map<string, SafeTensor>();
  for (const [prefix, group] of [
    ['param', state.params],
    ['momentum', state.momentum],
  ] as const) {
    for (const [name, array] of group) {
      tensors.set(`${prefix}/${name}`, { dtype: 'F32', shape: array.shape, data: array.values });
    }
  }
  await writeSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    version: '1',
    completedSteps: String(state.completedSteps),
    runKey: state.runKey,
  });
}

export async function loadCheckpoint(
  path: string,
  expectedRunKey: string,
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
  const momentum = new Map<string, NamedArray>();
  for (const [name, tensor] of tensors) {
    const slash = name.indexOf('/');
    const group =
      name.slice(0, slash) === 'param'
        ? params
        : name.slice(0, slash) === 'momentum'
          ? momentum
          : null;
    if (!group || tensor.dtype !== 'F32')
      throw new CheckpointError(`${path}: unexpected tensor ${name} (${tensor.dtype})`);
    group.set(name.slice(slash + 1), { shape: tensor.shape, values: tensor.data });
  }
  return { completedSteps, runKey: expectedRunKey, params, momentum };
}
