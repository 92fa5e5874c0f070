/**
 * A folder of image files as a dataset, in the layout torchvision's `ImageFolder` and Hugging Face's
 * `imagefolder` read: one sub-folder per class, its name the class name, classes in sorted order.
 *
 *   DIR/train/<class>/*.png|jpg   and   DIR/test/<class>/…   (or validation/, val/)
 *   DIR/<class>/*.png|jpg         (no split: `testFraction` of each class is held out, seeded)
 *
 * Every image is decoded, converted to the model's channels and resized to its square input size
 * (Pillow's antialiased BILINEAR) once, at load, on every core (decodePool.ts), and the result is
 * cached (the dataset cache's format, keyed by every file's path, size and modification time, the
 * size, channels and labels): a second load of the same folder reads one file. The cached folders
 * are kept under SUPERLORA_IMAGE_CACHE_MB, least recently used first out (cacheFolder.ts). Files that are not
 * .png / .jpg / .jpeg, and hidden files and folders, are ignored; a file with an image extension
 * that does not decode is an error that names it.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { checkDataset, selectSamples, type Dataset, type DatasetSplit } from '../dataset';
import { IMAGE_CACHE_DIR, imageCacheLimitBytes, markUsed, pruneImageCache } from '../cacheFolder';
import { defaultDatasetCacheDir, readDatasetCache, writeDatasetCache } from '../datasetCache';
import { DatasetFormatError, DatasetUnavailableError } from '../datasetErrors';
import { stratifiedSplit, type SplitIndices } from '../stratifiedSplit';
import { IMAGE_EXTENSIONS } from './decodeImage';
import { decodeImageFiles } from './decodePool';

export { readImageFile } from './readImageFile';

/**
 * Part of every image cache key: raise it when decoding, channel conversion or resizing change
 * what a file becomes, so that older caches are rebuilt.
 */
export const IMAGE_CACHE_VERSION = 1;

export interface ImageFolderOptions {
  split: DatasetSplit;
  /** Every image is resized to imageSize × imageSize. */
  imageSize: number;
  /** 1: greyscale (Pillow's `convert('L')` weights), 3: RGB. */
  channels: 1 | 3;
  /** Without a test folder: the share of each class held out for testing (default 0.2). */
  testFraction?: number;
  /** Seeds that hold-out split (default 0). */
  splitSeed?: number;
  /**
   * Where decoded folders are cached (in `images/`): default defaultDatasetCacheDir(); null: no
   * cache. Folders of more than 256 classes are not cached.
   */
  cacheDir?: string | null;
}

const TEST_FOLDERS = ['test', 'validation', 'val'];

const NO_CLASS_FOLDERS =
  'no class folders: expected DIR/<class>/*.png|jpg, or DIR/train/<class>/… and DIR/test/<class>/…';

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

function isImageFile(name: string): boolean {
  const extension = path.extname(name).toLowerCase();
  return !name.startsWith('.') && (IMAGE_EXTENSIONS as readonly string[]).includes(extension);
}

/** The train and test folders of `dir` (test null when the folder has no split). */
async function splitFolders(dir: string): Promise<{ train: string; test: string | null }> {
  const folders = await subfolders(dir);
  if (!folders.includes('train')) return { train: dir, test: null };
  const test = TEST_FOLDERS.find((name) => folders.includes(name));
  return { train: path.join(dir, 'train'), test: test ? path.join(dir, test) : null };
}

/**
 * Every image of the class folders of `dir`, labelled by `classNames` (the training split's
 * classes; default the folders of `dir` itself).
 */
async function readSplit(
  dir: string,
  options: ImageFolderOptions,
  classNames?: readonly string[],
): Promise<Dataset> {
  const folders = await subfolders(dir);
  if (folders.length === 0) throw new DatasetFormatError(dir, NO_CLASS_FOLDERS);
  const classes = classNames ?? checkClassCount(dir, folders);
  const unknown = folders.filter((folder) => !classes.includes(folder));
  if (unknown.length > 0) {
    throw new DatasetFormatError(
      dir,
      `class folder ${unknown.map((name) => JSON.stringify(name)).join(', ')} is not a class of the training split (${classes.join(', ')})`,
    );
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (const folder of folders) {
    const classDir = path.join(dir, folder);
    const inClass = await imageFilesIn(classDir);
    if (inClass.length === 0) {
      throw new DatasetFormatError(classDir, 'no .png, .jpg or .jpeg files in this class folder');
    }
    files.push(...inClass);
    labels.push(...inClass.map(() => classes.indexOf(folder)));
  }
  return readImageFiles(files, options, {
    name: path.basename(path.resolve(dir)),
    labels,
    classNames: classes,
  });
}

/**
 * `folders` as the classes of `dir`, refused when there are fewer than two: a classifier of one
 * class has nothing to learn, and training would fail deep in the loss (a one-hot of depth 1)
 * after the output folder is made, instead of naming the folder here.
 */
function checkClassCount(dir: string, folders: string[]): string[] {
  if (folders.length === 0) throw new DatasetFormatError(dir, NO_CLASS_FOLDERS);
  if (folders.length === 1) {
    throw new DatasetFormatError(
      dir,
      `only one class folder (${JSON.stringify(folders[0])}): a classifier needs at least 2 classes, one sub-folder each`,
    );
  }
  return folders;
}

/** The PNG / JPEG files directly in `dir` (not in sub-folders), in name order. */
export async function imageFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter(isImageFile)
    .sort()
    .map((name) => path.join(dir, name));
}

/**
 * `files` as a dataset of `options.imageSize`² images with `options.channels` channels, each
 * converted and resized as {@link readImageFile} does, labelled as given; from the cache when it
 * holds these files as they are now (see the module comment).
 */
export async function readImageFiles(
  files: readonly string[],
  options: Pick<ImageFolderOptions, 'imageSize' | 'channels' | 'cacheDir'>,
  labelling: { name: string; labels: readonly number[]; classNames: readonly string[] },
): Promise<Dataset> {
  const { imageSize: side, channels } = options;
  const classNames = [...labelling.classNames];
  const cacheDir = options.cacheDir === undefined ? defaultDatasetCacheDir() : options.cacheDir;
  const cacheLimit = imageCacheLimitBytes();
  // One stat per file, for the cache key and the decoder's choice of threads.
  const stats = await Promise.all(files.map((file) => stat(file)));
  const cache =
    cacheDir === null || classNames.length > 256 || cacheLimit === 0
      ? null
      : imageCacheEntry(cacheDir, files, stats, side, channels, labelling);
  if (cache !== null) {
    const cached = await readDatasetCache(cache.path, {
      name: labelling.name,
      source: cache.source,
      classNames,
    });
    if ('dataset' in cached && cached.dataset.count === files.length) {
      await markUsed(cache.path);
      return { ...cached.dataset, labels: Int32Array.from(cached.dataset.labels) };
    }
  }
  const dataset: Dataset = {
    name: labelling.name,
    images: await decodeImageFiles(files, side, channels, {
      totalBytes: stats.reduce((sum, info) => sum + info.size, 0),
    }),
    labels: Int32Array.from(labelling.labels),
    count: files.length,
    height: side,
    width: side,
    channels,
    numClasses: classNames.length,
    classNames,
  };
  checkDataset(dataset);
  if (cache !== null && dataset.images.length + dataset.count <= cacheLimit) {
    // The cache only saves time: a folder it cannot be written to (a read-only install) is no
    // error. The least recently used folders make room for this one.
    await writeDatasetCache(
      cache.path,
      { ...dataset, labels: Uint8Array.from(labelling.labels) },
      cache.source,
    )
      .then(() => pruneImageCache(cacheDir as string, cacheLimit, cache.path))
      .catch(() => undefined);
  }
  return dataset;
}

/** The cache file of these files as they are now, and the source string that identifies them. */
function imageCacheEntry(
  cacheDir: string,
  files: readonly string[],
  stats: readonly Stats[],
  side: number,
  channels: number,
  labelling: { labels: readonly number[]; classNames: readonly string[] },
): { path: string; source: string } {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([IMAGE_CACHE_VERSION, side, channels, labelling.classNames]));
  files.forEach((file, i) => {
    // Whole milliseconds: sub-millisecond digits do not survive every way of setting a time stamp.
    const { size, mtimeMs } = stats[i]!;
    const time = Math.trunc(mtimeMs);
    hash.update(`\n${path.resolve(file)}\0${size}\0${time}\0${labelling.labels[i]}`);
  });
  const key = hash.digest('hex');
  return {
    path: path.join(cacheDir, IMAGE_CACHE_DIR, `${key.slice(0, 32)}.bin`),
    source: `images:${key}`,
  };
}

// `finetune` loads the train split, then the test split: a folder without a split is decoded
// once for both. One entry, so a long-lived process does not keep every folder it has read.
let lastUnsplit: { key: string; dataset: Dataset; split: SplitIndices } | undefined;

/** One split of an image folder (see the module comment for the layouts). */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<Dataset> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new DatasetUnavailableError(`${dir}: no such folder of images`);
  }
  const { imageSize, channels } = options;
  if (!(Number.isInteger(imageSize) && imageSize >= 1)) {
    throw new RangeError(`Expected an integer ≥ 1 for options.imageSize but received ${imageSize}`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`Expected 1 or 3 for options.channels but received ${String(channels)}`);
  }
  const folders = await splitFolders(dir);
  if (folders.test !== null) {
    if (options.split === 'train') return readSplit(folders.train, options);
    const classes = checkClassCount(folders.train, await subfolders(folders.train));
    return readSplit(folders.test, options, classes);
  }
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new RangeError(`Expected a test fraction in (0, 1) but received ${testFraction}`);
  }
  const seed = options.splitSeed ?? 0;
  const key = JSON.stringify([
    path.resolve(folders.train),
    imageSize,
    channels,
    testFraction,
    seed,
  ]);
  if (lastUnsplit?.key !== key) {
    const dataset = await readSplit(folders.train, options);
    const split = stratifiedSplit(dataset, Math.round(testFraction * dataset.count), seed);
    lastUnsplit = { key, dataset, split };
  }
  return selectSamples(lastUnsplit.dataset, lastUnsplit.split[options.split]);
}
