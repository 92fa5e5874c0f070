/**
 * What the native kernels use of tfjs's cpu backend (MathBackendCPU, which @tensorflow/tfjs does
 * not export as a type): tensor data by id and tensor creation, without copies.
 */
import type * as tf from '@tensorflow/tfjs';
import { entryValues } from './outputPool';

export interface CpuBackend {
  data: { get(dataId: tf.DataId): { values?: unknown }; has(dataId: tf.DataId): boolean };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: Float32Array | Uint8Array,
  ): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
  /** Drops one reference to the data; deletes its entry at the last (or with force). */
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** What tfjs hands a kernel function. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}

export function cpuBackend(args: KernelArgs): CpuBackend {
  return args.backend as CpuBackend;
}

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

/**
 * The values of a tensor of `dtype` as the backend holds them, when they are one dense typed array
 * tagged `tag` of the tensor's size (no copy; a pooled output stays recyclable,
 * src/tfjs/kernels/outputPool.ts), else null. The check is by tag rather than instanceof so that
 * arrays from another realm (jest's vm contexts) pass.
 */
function denseValues(
  backend: CpuBackend,
  info: tf.TensorInfo | undefined,
  dtype: tf.DataType,
  tag: string,
): ArrayBufferView | null {
  if (info === undefined || info.dtype !== dtype) return null;
  const values = entryValues(backend.data.get(info.dataId));
  if (!ArrayBuffer.isView(values)) return null;
  if ((values as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] !== tag) return null;
  return (values as Float32Array | Uint8Array).length === sizeOf(info.shape) ? values : null;
}

/**
 * The float32 values of a tensor, or null when the native path cannot take it: another dtype, or
 * storage that is not one dense Float32Array.
 */
export function float32Values(
  backend: CpuBackend,
  info: tf.TensorInfo | undefined,
): Float32Array | null {
  return denseValues(backend, info, 'float32', 'Float32Array') as Float32Array | null;
}

/**
 * The values of a bool tensor (one byte each, 0 or 1, as the cpu backend stores them), or null
 * for another dtype or storage.
 */
export function boolValues(
  backend: CpuBackend,
  info: tf.TensorInfo | undefined,
): Uint8Array | null {
  return denseValues(backend, info, 'bool', 'Uint8Array') as Uint8Array | null;
}

/**
 * The float32 values of the named inputs, in order, for a kernel that has no tfjs kernel to fall
 * back on (the fused ones of src/vit/fusedOps.ts, which only ever see float32 tensors): an Error
 * naming the kernel, the input, its dtype and shape otherwise.
 */
export function requireFloat32Inputs(
  args: KernelArgs,
  kernelName: string,
  names: readonly string[],
): Float32Array[] {
  const backend = cpuBackend(args);
  return names.map((name) => {
    const info = args.inputs[name];
    const values = float32Values(backend, info);
    if (values === null) {
      const received =
        info === undefined ? 'nothing' : `dtype ${info.dtype}, shape [${info.shape.join(', ')}]`;
      throw new Error(
        `${kernelName}: expected a dense float32 tensor for ${name} but received ${received}`,
      );
    }
    return values;
  });
}

/** A tensor viewed as rows of its last axis: [rows, cols] (cols = 1 for a scalar). */
export function lastAxisRows(shape: readonly number[]): [number, number] {
  const cols = shape.at(-1) ?? 1;
  return [cols === 0 ? 0 : sizeOf(shape) / cols, cols];
}
