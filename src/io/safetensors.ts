/**
 * A standalone reader and writer for the safetensors format:
 *
 *   [8 bytes: N, little-endian u64][N bytes: UTF-8 JSON header][data buffer]
 *
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (byte offsets
 * into the data buffer) and may hold `__metadata__`, a map of strings to strings. Tensor data is
 * little-endian and row-major. Files are validated the way the Hugging Face reference does it:
 * the tensors, sorted by offset, must tile the data buffer exactly (no gaps, no overlap, no
 * trailing bytes) and each span must equal shape × dtype size.
 */
import * as fs from 'node:fs/promises';
import { types } from 'node:util';

import { writeFileAtomic } from './atomicWrite';

/** The typed array that holds each dtype's elements. F16, BF16 and the F8 types are kept as raw bits. */
export interface DTypeArrayMap {
  F64: Float64Array;
  F32: Float32Array;
  /** IEEE half precision, raw bits. */
  F16: Uint16Array;
  /** bfloat16, raw bits (the high half of a float32). */
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  /** One byte per element, 0 or 1. */
  BOOL: Uint8Array;
  /** FP8 formats, raw bits. */
  F8_E4M3: Uint8Array;
  F8_E5M2: Uint8Array;
  F8_E8M0: Uint8Array;
  /** complex64: interleaved (real, imaginary) float32 pairs, so `data.length` is twice the element count. */
  C64: Float32Array;
}

export type DType = keyof DTypeArrayMap;

/**
 * One tensor. It is a union over dtypes, so checking `dtype` narrows `data`:
 * `if (t.dtype === 'F32') t.data` is a Float32Array. `SafeTensor<'F32'>` names one member.
 */
export type SafeTensor<D extends DType = DType> = D extends DType
  ? { dtype: D; shape: number[]; data: DTypeArrayMap[D] }
  : never;

/** A tensor's header entry, without its data. */
export interface SafeTensorInfo {
  dtype: DType;
  shape: number[];
  /** Byte range `[begin, end)` relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

/**
 * Tensors to write, in order. A Map keeps any insertion order; a plain object puts integer-like
 * keys ("0", "12") first, as JavaScript orders object keys that way.
 */
export type SafeTensorCollection =
  ReadonlyMap<string, SafeTensor> | Readonly<Record<string, SafeTensor>>;

export interface DecodedSafetensors {
  metadata: Record<string, string>;
  /** In data-offset order, which is the order they were written in. */
  tensors: Map<string, SafeTensor>;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In data-offset order. */
  tensors: Map<string, SafeTensorInfo>;
  /** Absolute byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
}

/** A file or buffer that is not valid safetensors. The message names the source, the tensor and the fault. */
export class SafetensorsFormatError extends Error {
  override readonly name = 'SafetensorsFormatError';
  /** The file path, or the label given to {@link decodeSafetensors}. */
  readonly source: string;
  /** The tensor at fault, when the fault is in one tensor's entry. */
  readonly tensor: string | undefined;

  constructor(source: string, problem: string, tensor?: string) {
    super(
      tensor === undefined
        ? `${source}: ${problem}`
        : `${source}: tensor ${JSON.stringify(tensor)}: ${problem}`,
    );
    this.source = source;
    this.tensor = tensor;
  }
}

const METADATA_KEY = '__metadata__';

/** The reference implementation's limit; a larger header is a corrupt length far more often than a real one. */
export const MAX_HEADER_BYTES = 100_000_000;

type TypedArrayConstructor = {
  new (length: number): DTypeArrayMap[DType];
};

interface DTypeLayout {
  /** Bytes per array element. */
  readonly bytesPerLane: number;
  /** Array elements per tensor element (2 for complex). */
  readonly lanes: number;
  readonly arrayName: string;
  readonly isArray: (value: unknown) => boolean;
  readonly create: TypedArrayConstructor;
}

function layout(
  bytesPerLane: number,
  lanes: number,
  create: TypedArrayConstructor,
  isArray: (value: unknown) => boolean,
): DTypeLayout {
  return { bytesPerLane, lanes, arrayName: create.name, isArray, create };
}

// util.types checks work across realms (jest sandboxes, worker data), unlike instanceof.
const DTYPE_LAYOUTS: { readonly [D in DType]: DTypeLayout } = {
  F64: layout(8, 1, Float64Array, types.isFloat64Array),
  F32: layout(4, 1, Float32Array, types.isFloat32Array),
  F16: layout(2, 1, Uint16Array, types.isUint16Array),
  BF16: layout(2, 1, Uint16Array, types.isUint16Array),
  I64: layout(8, 1, BigInt64Array, types.isBigInt64Array),
  U64: layout(8, 1, BigUint64Array, types.isBigUint64Array),
  I32: layout(4, 1, Int32Array, types.isInt32Array),
  U32: layout(4, 1, Uint32Array, types.isUint32Array),
  I16: layout(2, 1, Int16Array, types.isInt16Array),
  U16: layout(2, 1, Uint16Array, types.isUint16Array),
  I8: layout(1, 1, Int8Array, types.isInt8Array),
  U8: layout(1, 1, Uint8Array, types.isUint8Array),
  BOOL: layout(1, 1, Uint8Array, types.isUint8Array),
  F8_E4M3: layout(1, 1, Uint8Array, types.isUint8Array),
  F8_E5M2: layout(1, 1, Uint8Array, types.isUint8Array),
  F8_E8M0: layout(1, 1, Uint8Array, types.isUint8Array),
  C64: layout(4, 2, Float32Array, types.isFloat32Array),
};

/** Every dtype this module reads and writes. */
export const DTYPES: readonly DType[] = Object.keys(DTYPE_LAYOUTS) as DType[];

/** Sub-byte formats the reference knows; their packing is not supported here. */
const SUB_BYTE_DTYPES: ReadonlySet<string> = new Set(['F4', 'F6_E2M3', 'F6_E3M2']);

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_LAYOUTS, value);
}

/** Bytes per element of `dtype` (8 for C64). */
export function dtypeByteSize(dtype: DType): number {
  const { bytesPerLane, lanes } = DTYPE_LAYOUTS[dtype];
  return bytesPerLane * lanes;
}

// The format is little-endian and the typed arrays here are copied byte for byte.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new Error('safetensors: big-endian hosts are not supported');
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Serialises tensors (in order, contiguous) and string metadata to safetensors bytes. The header
 * is padded with spaces to a multiple of 8 bytes so that the data buffer starts 8-aligned.
 * Throws TypeError / RangeError naming the tensor when a tensor's dtype, shape or data is wrong.
 */
export function encodeSafetensors(
  tensors: SafeTensorCollection,
  metadata?: Readonly<Record<string, string>>,
): Buffer {
  const chunks = encodeSafetensorsChunks(tensors, metadata);
  return Buffer.concat(chunks);
}

/**
 * Like {@link encodeSafetensors} but returns the header followed by views of each tensor's data,
 * without copying the data. The views alias the caller's arrays.
 */
export function encodeSafetensorsChunks(
  tensors: SafeTensorCollection,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  assertLittleEndianHost();
  const entries = collectionEntries(tensors);
  const headerParts: string[] = [];

  if (metadata !== undefined) {
    const metadataJson = encodeMetadata(metadata);
    if (metadataJson !== undefined) {
      headerParts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson}`);
    }
  }

  const dataChunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    const bytes = tensorBytes(name, tensor);
    const info = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + bytes.byteLength],
    };
    // Built by hand rather than with one JSON.stringify of an object, which would move
    // integer-like names to the front and break insertion order.
    headerParts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    dataChunks.push(bytes);
    offset += bytes.byteLength;
  }

  const headerJson = Buffer.from(`{${headerParts.join(',')}}`, 'utf8');
  const paddedLength = Math.ceil(headerJson.byteLength / 8) * 8;
  const header = Buffer.alloc(8 + paddedLength, 0x20);
  header.writeBigUInt64LE(BigInt(paddedLength), 0);
  headerJson.copy(header, 8);
  return [header, ...dataChunks];
}

function collectionEntries(tensors: SafeTensorCollection): [string, SafeTensor][] {
  if (types.isMap(tensors)) {
    return [...(tensors as ReadonlyMap<string, SafeTensor>).entries()];
  }
  if (typeof tensors !== 'object' || tensors === null) {
    throw new TypeError(
      `Expected a Map or an object of tensors but received ${describeValue(tensors)}`,
    );
  }
  return Object.entries(tensors as Readonly<Record<string, SafeTensor>>);
}

function encodeMetadata(metadata: Readonly<Record<string, string>>): string | undefined {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(
      `Expected an object of strings for metadata but received ${describeValue(metadata)}`,
    );
  }
  const entries = Object.entries(metadata);
  if (entries.length === 0) {
    return undefined;
  }
  const parts: string[] = [];
  for (const [key, value] of entries) {
    if (typeof value !== 'string') {
      throw new TypeError(
        `Expected a string for metadata ${JSON.stringify(key)} but received ${describeValue(value)}`,
      );
    }
    parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Checks one tensor and returns a view of its bytes. */
function tensorBytes(name: string, tensor: SafeTensor): Uint8Array {
  const where = `tensor ${JSON.stringify(name)}`;
  if (name === METADATA_KEY) {
    throw new RangeError(`${JSON.stringify(METADATA_KEY)} is reserved and cannot name a tensor`);
  }
  if (typeof tensor !== 'object' || tensor === null) {
    throw new TypeError(
      `Expected {dtype, shape, data} for ${where} but received ${describeValue(tensor)}`,
    );
  }
  const dtype: unknown = tensor.dtype;
  if (!isDType(dtype)) {
    throw new TypeError(
      `Expected one of ${DTYPES.join(', ')} for the dtype of ${where} but received ${describeValue(dtype)}`,
    );
  }
  const shape: unknown = tensor.shape;
  if (!Array.isArray(shape) || !shape.every(isDimension)) {
    throw new TypeError(
      `Expected an array of non-negative integers for the shape of ${where} but received ${describeValue(shape)}`,
    );
  }
  const dtypeLayout = DTYPE_LAYOUTS[dtype];
  const data: unknown = tensor.data;
  if (!dtypeLayout.isArray(data)) {
    throw new TypeError(
      `Expected a ${dtypeLayout.arrayName} for the data of ${where} (dtype ${dtype}) but received ${describeValue(data)}`,
    );
  }
  const typed = data as DTypeArrayMap[DType];
  const elementCount = shapeElementCount(shape);
  const expectedLength = elementCount === undefined ? undefined : elementCount * dtypeLayout.lanes;
  if (expectedLength === undefined || typed.length !== expectedLength) {
    const lanesNote = dtypeLayout.lanes === 1 ? '' : ` × ${dtypeLayout.lanes} lanes`;
    throw new RangeError(
      `Expected ${expectedLength ?? 'a representable number of'} elements (shape ${formatShape(shape)}${lanesNote}) in the data of ${where} but received ${typed.length}`,
    );
  }
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Parses safetensors bytes. Every tensor's data is copied into its own typed array, so the
 * result does not alias `bytes` and is always aligned. `source` labels error messages (a path).
 * Throws {@link SafetensorsFormatError} for anything malformed.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): DecodedSafetensors {
  assertLittleEndianHost();
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, source);
  const dataStart = 8 + headerLength;
  const header = parseHeader(
    bytes.subarray(8, dataStart),
    bytes.byteLength - dataStart,
    source,
    dataStart,
  );
  const tensors = new Map<string, SafeTensor>();
  for (const [name, info] of header.tensors) {
    const data = allocate(info);
    const [begin, end] = info.dataOffsets;
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data } as SafeTensor);
  }
  return { metadata: header.metadata, tensors };
}

/** Reads and validates just the header of a safetensors file, without its tensor data. */
export async function readSafetensorsHeader(filePath: string): Promise<SafetensorsHeader> {
  const handle = await fs.open(filePath, 'r');
  try {
    return await readHeaderFrom(handle, filePath);
  } catch (error) {
    throw withPath(error, filePath);
  } finally {
    await handle.close();
  }
}

/**
 * Errors of reads on an open handle (EISDIR when the path is a folder, EIO) carry no path, unlike
 * those of open(); add it so that the one-line message says which file.
 */
function withPath(error: unknown, filePath: string): unknown {
  if (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).code === 'string' &&
    !error.message.includes(filePath)
  ) {
    error.message = `${filePath}: ${error.message}`;
    (error as NodeJS.ErrnoException).path ??= filePath;
  }
  return error;
}

/**
 * Reads a safetensors file. Tensor data is read straight into freshly allocated typed arrays (no
 * intermediate copy of the whole file). Throws {@link SafetensorsFormatError} naming the path for a
 * malformed file; I/O errors (missing file, permissions) are passed through.
 */
export async function readSafetensors(filePath: string): Promise<DecodedSafetensors> {
  assertLittleEndianHost();
  const handle = await fs.open(filePath, 'r');
  try {
    const header = await readHeaderFrom(handle, filePath);
    const tensors = new Map<string, SafeTensor>();
    for (const [name, info] of header.tensors) {
      const data = allocate(info);
      const [begin] = info.dataOffsets;
      const target = new Uint8Array(data.buffer);
      const read = await readFully(handle, target, header.dataStart + begin);
      if (read < target.byteLength) {
        throw new SafetensorsFormatError(
          filePath,
          `the file ended after ${read} of the tensor's ${target.byteLength} bytes (was it truncated while being read?)`,
          name,
        );
      }
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data } as SafeTensor);
    }
    return { metadata: header.metadata, tensors };
  } catch (error) {
    throw withPath(error, filePath);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a safetensors file atomically: to a temporary file in the same directory, fsynced, then
 * renamed over `filePath`. Invalid tensors reject before anything is written; on any failure the
 * original file, if there was one, is untouched and no temporary file is left behind.
 * The tensors' arrays are written as they are, not copied (a checkpoint can be hundreds of MB):
 * leave them unchanged until the promise settles (saveAdapter copies its params for that reason).
 */
export async function writeSafetensors(
  filePath: string,
  tensors: SafeTensorCollection,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const chunks = encodeSafetensorsChunks(tensors, metadata);
  await writeFileAtomic(filePath, chunks);
}

async function readHeaderFrom(handle: fs.FileHandle, source: string): Promise<SafetensorsHeader> {
  const { size } = await handle.stat();
  const prefix = new Uint8Array(8);
  const prefixRead = await readFully(handle, prefix, 0);
  const headerLength = readHeaderLength(prefix.subarray(0, prefixRead), size, source);
  const headerBytes = new Uint8Array(headerLength);
  const headerRead = await readFully(handle, headerBytes, 8);
  if (headerRead < headerLength) {
    throw new SafetensorsFormatError(
      source,
      `the file ended inside the ${headerLength}-byte header (was it truncated while being read?)`,
    );
  }
  const dataStart = 8 + headerLength;
  return parseHeader(headerBytes, size - dataStart, source, dataStart);
}

async function readFully(
  handle: fs.FileHandle,
  target: Uint8Array,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead } = await handle.read(
      target,
      done,
      target.byteLength - done,
      position + done,
    );
    if (bytesRead === 0) {
      break;
    }
    done += bytesRead;
  }
  return done;
}

function allocate(info: SafeTensorInfo): DTypeArrayMap[DType] {
  const dtypeLayout = DTYPE_LAYOUTS[info.dtype];
  const [begin, end] = info.dataOffsets;
  return new dtypeLayout.create((end - begin) / dtypeLayout.bytesPerLane);
}

/** Validates the 8-byte prefix against the total size and returns the header length N. */
function readHeaderLength(prefix: Uint8Array, totalBytes: number, source: string): number {
  if (prefix.byteLength < 8 || totalBytes < 8) {
    throw new SafetensorsFormatError(
      source,
      `the file is ${totalBytes} bytes, too short for the 8-byte header length (truncated?)`,
    );
  }
  const headerLength = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsFormatError(
      source,
      `header length ${headerLength} is over the ${MAX_HEADER_BYTES}-byte limit (corrupt length?)`,
    );
  }
  const length = Number(headerLength);
  if (8 + length > totalBytes) {
    throw new SafetensorsFormatError(
      source,
      `header length ${length} runs past the end of the file (${totalBytes} bytes: 8 + ${totalBytes - 8} available; truncated?)`,
    );
  }
  return length;
}

interface TensorEntry {
  name: string;
  info: SafeTensorInfo;
  /** Position in the header, to keep the sort stable for equal offsets. */
  headerIndex: number;
}

/**
 * Parses the JSON header and checks it against a data buffer of `dataLength` bytes. Returns the
 * tensors in offset order.
 */
function parseHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  source: string,
  dataStart: number,
): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsFormatError(source, 'the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    const start =
      text.length === 0 ? 'is empty' : `starts with ${JSON.stringify(text.slice(0, 16))}`;
    throw new SafetensorsFormatError(
      source,
      `the header ${start}; expected a JSON object starting with '{'`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SafetensorsFormatError(source, `the header is not valid JSON: ${reason}`);
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsFormatError(
      source,
      `the header must be a JSON object but is ${describeJson(parsed)}`,
    );
  }

  const metadata = parseMetadata(parsed[METADATA_KEY], source);
  const entries: TensorEntry[] = [];
  let headerIndex = 0;
  for (const [name, value] of Object.entries(parsed)) {
    if (name === METADATA_KEY) {
      continue;
    }
    const info = parseTensorInfo(name, value, source);
    const [begin, end] = info.dataOffsets;
    if (end > dataLength) {
      throw new SafetensorsFormatError(
        source,
        `data_offsets [${begin}, ${end}] run past the end of the ${dataLength}-byte data buffer (truncated file?)`,
        name,
      );
    }
    entries.push({ name, info, headerIndex });
    headerIndex += 1;
  }

  entries.sort(
    (a, b) =>
      a.info.dataOffsets[0] - b.info.dataOffsets[0] ||
      a.info.dataOffsets[1] - b.info.dataOffsets[1] ||
      a.headerIndex - b.headerIndex,
  );
  let covered = 0;
  let previous: TensorEntry | undefined;
  for (const entry of entries) {
    const [begin, end] = entry.info.dataOffsets;
    if (begin < covered && previous !== undefined) {
      const [previousBegin, previousEnd] = previous.info.dataOffsets;
      throw new SafetensorsFormatError(
        source,
        `data_offsets [${begin}, ${end}] overlap tensor ${JSON.stringify(previous.name)} at [${previousBegin}, ${previousEnd}]`,
        entry.name,
      );
    }
    if (begin > covered) {
      const after =
        previous === undefined
          ? 'at the start of the data buffer'
          : `after tensor ${JSON.stringify(previous.name)}`;
      throw new SafetensorsFormatError(
        source,
        `data_offsets [${begin}, ${end}] leave a gap: bytes [${covered}, ${begin}) ${after} belong to no tensor`,
        entry.name,
      );
    }
    covered = end;
    previous = entry;
  }
  if (covered < dataLength) {
    throw new SafetensorsFormatError(
      source,
      `${dataLength - covered} trailing bytes after the last tensor belong to no tensor (the data buffer is ${dataLength} bytes, tensors cover ${covered})`,
    );
  }

  const tensors = new Map<string, SafeTensorInfo>();
  for (const entry of entries) {
    tensors.set(entry.name, entry.info);
  }
  return { metadata, tensors, dataStart };
}

function parseMetadata(value: unknown, source: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  // The reference treats a null __metadata__ as absent.
  if (value === undefined || value === null) {
    return metadata;
  }
  if (!isPlainObject(value)) {
    throw new SafetensorsFormatError(
      source,
      `${METADATA_KEY} must be an object of strings but is ${describeJson(value)}`,
    );
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new SafetensorsFormatError(
        source,
        `${METADATA_KEY} value for ${JSON.stringify(key)} must be a string but is ${describeJson(entry)}`,
      );
    }
    // Defined, not assigned: `metadata['__proto__'] = …` would set the prototype and drop the key.
    Object.defineProperty(metadata, key, {
      value: entry,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return metadata;
}

function parseTensorInfo(name: string, value: unknown, source: string): SafeTensorInfo {
  const fail = (problem: string): never => {
    throw new SafetensorsFormatError(source, problem, name);
  };
  if (!isPlainObject(value)) {
    return fail(
      `the entry must be an object {dtype, shape, data_offsets} but is ${describeJson(value)}`,
    );
  }
  const dtype = value['dtype'];
  const shape = value['shape'];
  const offsets = value['data_offsets'];

  if (dtype === undefined) {
    return fail('the entry has no "dtype"');
  }
  if (!isDType(dtype)) {
    if (typeof dtype === 'string' && SUB_BYTE_DTYPES.has(dtype)) {
      return fail(`dtype ${JSON.stringify(dtype)} (packed sub-byte) is not supported`);
    }
    return fail(`unknown dtype ${describeJson(dtype)}; expected one of ${DTYPES.join(', ')}`);
  }
  if (shape === undefined) {
    return fail('the entry has no "shape"');
  }
  if (!Array.isArray(shape) || !shape.every(isDimension)) {
    return fail(`shape ${describeJson(shape)} must be an array of non-negative integers`);
  }
  if (offsets === undefined) {
    return fail('the entry has no "data_offsets"');
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDimension)) {
    return fail(
      `data_offsets ${describeJson(offsets)} must be [begin, end], non-negative integers`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) {
    return fail(`data_offsets [${begin}, ${end}] end before they begin`);
  }
  const elementCount = shapeElementCount(shape);
  const byteSize = elementCount === undefined ? undefined : elementCount * dtypeByteSize(dtype);
  if (byteSize === undefined || !Number.isSafeInteger(byteSize)) {
    return fail(`shape ${formatShape(shape)} of ${dtype} is too large to address`);
  }
  if (end - begin !== byteSize) {
    return fail(
      `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${formatShape(shape)} of ${dtype} needs ${byteSize}`,
    );
  }
  return { dtype, shape: [...shape], dataOffsets: [begin, end] };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDimension(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Product of the dimensions, or undefined when it is not a safe integer. */
function shapeElementCount(shape: readonly number[]): number | undefined {
  let count = 1;
  for (const dimension of shape) {
    count *= dimension;
    if (!Number.isSafeInteger(count)) {
      return undefined;
    }
  }
  return count;
}

function formatShape(shape: readonly unknown[]): string {
  return `[${shape.map(String).join(', ')}]`;
}

function describeJson(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return `an array ${truncate(JSON.stringify(value))}`;
  }
  if (typeof value === 'object') {
    return 'an object';
  }
  return `${typeof value} ${truncate(JSON.stringify(value))}`;
}

function describeValue(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (value === undefined) {
    return 'undefined';
  }
  if (ArrayBuffer.isView(value)) {
    const name = (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ?? 'DataView';
    return `a ${name}`;
  }
  if (Array.isArray(value)) {
    return `an array ${truncate(safeStringify(value))}`;
  }
  if (typeof value === 'object') {
    return `an object (${value.constructor?.name ?? 'no prototype'})`;
  }
  if (typeof value === 'string') {
    return `string ${truncate(JSON.stringify(value))}`;
  }
  return `${typeof value} ${String(value)}`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, entry: unknown) =>
      typeof entry === 'bigint' ? `${entry}n` : entry,
    );
  } catch {
    return String(value);
  }
}

function truncate(text: string, limit = 60): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}
