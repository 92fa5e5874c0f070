/**
 * Recycling the native kernels' output arrays. Every kernel output used to be a fresh
 * Float32Array; a training step makes thousands, and their backing stores are external memory, so
 * V8 ran a scavenge every ~10 ms and a mark-compact every step ("external memory pressure"): 16 %
 * of the main job's time. Here an output array goes back to a free list when tfjs disposes its
 * tensor, and the next output of the same length reuses it.
 *
 * Recycling is only safe while nothing else holds the array. tfjs hands the backend's own array
 * out (dataSync() returns it; the cpu backend's contiguous slice returns a view of it), so an
 * output array is tracked through its backend entry: its `values` property becomes an accessor,
 * and the first read of it by anything but a native kernel (a stock tfjs kernel, readSync,
 * dataSync, bufferSync, any other code) turns it back into a plain property and gives up on the
 * array for good. Native kernels read their inputs through entryValues(), which does not count as
 * a read: they only look at their inputs while they run. References to the same data (reshape,
 * identity) share the entry and its count of references, so the array is recycled only when the
 * last one is disposed.
 *
 * Float32 outputs and bool ones (Uint8Array, the comparisons') are pooled apart. A recycled array
 * holds an earlier output's values: kernels that write every element of their output take
 * outputArray or boolOutputArray, the others zeroedOutputArray. The pool holds at most
 * SUPERLORA_OUTPUT_POOL_MB MiB of free arrays (default 256; 0 turns recycling off).
 */
import type * as tf from '@tensorflow/tfjs';
import { mebibytesFromEnv } from '../../envMebibytes';
import type { CpuBackend } from './cpuBackend';

export const DEFAULT_OUTPUT_POOL_MB = 256;

/**
 * On a backend entry made by outputTensor: its pooled array while nothing else has seen it, then
 * null. Absent on every other entry. (A property rather than a WeakSet of tracked entries: a
 * WeakSet entry per output costs a hash insertion and ephemeron work in every collection.)
 */
const UNSEEN = Symbol('superlora.unseenOutput');
/** On a backend whose disposeData is wrapped. */
const HOOKED = Symbol('superlora.outputPoolHooked');

/** An output array the pool recycles: a float32 tensor's or a bool tensor's. */
type PooledArray = Float32Array | Uint8Array;

interface BackendEntry {
  values?: unknown;
  [UNSEEN]?: PooledArray | null;
}

export interface OutputPoolStats {
  /** Outputs served from the pool since the last reset. */
  reused: number;
  /** Outputs newly allocated since the last reset. */
  allocated: number;
  /** Disposed outputs that had been read outside the native kernels, so were not recycled. */
  escaped: number;
  /** Bytes of free arrays held now. */
  pooledBytes: number;
  /** The limit on pooledBytes. */
  limitBytes: number;
}

/** Free arrays by length, float32 and bool apart. */
const freeFloat32 = new Map<number, Float32Array[]>();
const freeBool = new Map<number, Uint8Array[]>();
let pooledBytes = 0;
let limitBytes = DEFAULT_OUTPUT_POOL_MB * 2 ** 20;
const counts = { reused: 0, allocated: 0, escaped: 0 };
let poisoned = false;

/**
 * Sets the pool's limit from SUPERLORA_OUTPUT_POOL_MB (default 256 MiB; 0: no recycling) and
 * empties it. A RangeError names the variable for a bad value.
 */
export function configureOutputPool(env: Record<string, string | undefined>): void {
  limitBytes = mebibytesFromEnv(env, 'SUPERLORA_OUTPUT_POOL_MB', DEFAULT_OUTPUT_POOL_MB);
  clearOutputPool();
}

/** Drops every free array (they become garbage) and resets the counts. */
export function clearOutputPool(): void {
  freeFloat32.clear();
  freeBool.clear();
  pooledBytes = 0;
  counts.reused = 0;
  counts.allocated = 0;
  counts.escaped = 0;
}

export function outputPoolStats(): OutputPoolStats {
  return { ...counts, pooledBytes, limitBytes };
}

/**
 * A Float32Array of `length` for a native kernel's output, recycled when possible. Its contents
 * are unspecified (a recycled array holds an earlier output): the kernel must write every element.
 * Kernels that leave elements as they find them take zeroedOutputArray.
 */
export function outputArray(length: number): Float32Array {
  const array = take(freeFloat32, length) ?? new Float32Array(length);
  return poisoned ? array.fill(NaN) : array;
}

/** outputArray for a bool output (one byte per element, 0 or 1); poisoned arrays hold 255. */
export function boolOutputArray(length: number): Uint8Array {
  const array = take(freeBool, length) ?? new Uint8Array(length);
  return poisoned ? array.fill(255) : array;
}

/** A free array of `length` from `free`, or undefined (counted as an allocation to come). */
function take<T extends PooledArray>(free: Map<number, T[]>, length: number): T | undefined {
  const recycled = free.get(length)?.pop();
  if (recycled === undefined) {
    counts.allocated++;
  } else {
    pooledBytes -= recycled.byteLength;
    counts.reused++;
  }
  return recycled;
}

/** outputArray, zero-filled (as a new Float32Array is). */
export function zeroedOutputArray(length: number): Float32Array {
  return outputArray(length).fill(0);
}

/**
 * For tests: with `on`, outputArray fills every array it hands out with NaN, new ones too, so that
 * a kernel that does not write every element of its output is caught by any comparison.
 */
export function poisonOutputArrays(on: boolean): void {
  poisoned = on;
}

function release(array: PooledArray): void {
  if (limitBytes === 0 || pooledBytes + array.byteLength > limitBytes) return;
  const free = (array.BYTES_PER_ELEMENT === 1 ? freeBool : freeFloat32) as Map<
    number,
    PooledArray[]
  >;
  let list = free.get(array.length);
  if (list === undefined) {
    list = [];
    free.set(array.length, list);
  }
  list.push(array);
  pooledBytes += array.byteLength;
}

/** Gives up on recycling the entry's array: `values` becomes a plain property again. */
function markSeen(entry: BackendEntry, values: unknown): void {
  entry[UNSEEN] = null; // (not deleted: a delete would turn the entry into a slow object)
  Object.defineProperty(entry, 'values', {
    value: values,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/**
 * The `values` accessor of an unseen output's entry, one for all of them (entries then share
 * their shape, and tfjs's property reads stay fast): the first read or write marks it seen.
 */
const UNSEEN_VALUES: PropertyDescriptor = {
  get(this: BackendEntry): unknown {
    const values = this[UNSEEN] ?? undefined;
    markSeen(this, values);
    return values;
  },
  set(this: BackendEntry, replacement: unknown): void {
    markSeen(this, replacement);
  },
  enumerable: true,
  configurable: true,
};

/** Recycles an unseen output's array once the backend has deleted its entry. */
function hookDisposal(backend: CpuBackend & { [HOOKED]?: true }): void {
  if (backend[HOOKED]) return;
  backend[HOOKED] = true;
  const disposeData = backend.disposeData;
  backend.disposeData = function (this: CpuBackend, dataId: tf.DataId, force?: boolean): boolean {
    const entry = this.data.has(dataId) ? (this.data.get(dataId) as BackendEntry) : undefined;
    const unseen = entry?.[UNSEEN];
    const disposed = disposeData.call(this, dataId, force);
    if (unseen !== undefined && !this.data.has(dataId)) {
      if (unseen === null) {
        counts.escaped++;
      } else {
        (entry as BackendEntry)[UNSEEN] = null;
        release(unseen);
      }
    }
    return disposed;
  };
}

/**
 * A new tensor of the backend holding `values` (float32 from outputArray, bool from
 * boolOutputArray), tracked so that its array is recycled when the tensor is disposed, unless
 * something other than a native kernel has read it by then.
 */
export function outputTensor(
  backend: CpuBackend,
  shape: number[],
  values: PooledArray,
): tf.TensorInfo {
  const dtype = values.BYTES_PER_ELEMENT === 1 ? 'bool' : 'float32';
  const info = backend.makeTensorInfo(shape, dtype, values);
  if (limitBytes === 0) return info;
  hookDisposal(backend);
  const entry = backend.data.get(info.dataId) as BackendEntry;
  entry[UNSEEN] = values;
  Object.defineProperty(entry, 'values', UNSEEN_VALUES);
  return info;
}

/**
 * A backend entry's values for a native kernel's input, without giving up on recycling them: the
 * kernel reads them only while it runs.
 */
export function entryValues(entry: BackendEntry): unknown {
  return entry[UNSEEN] ?? entry.values;
}
