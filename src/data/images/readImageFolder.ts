/**
 * A folder of image files as a dataset, in the layout torchvision's `ImageFolder` and Hugging Face's
 * `imagefolder` read: one sub-folder per class, its name the class name, classes in sorted order.
 *
 *   DIR/train/<class>/*.png|jpg   and   DIR/test/<class>/…   (or validation/, val/)
 *   DIR/<class>/*.png|jpg         (no split: `testFraction` of each class is held out, seeded)
 *
 * Every image is decoded, converted to the model's channels and resized to its square input size
 * (Pillow's antialiased BILINEAR) once, at load. Files that are not .png / .jpg / .jpeg, and hidden
 * files and folders, are ignored; a file with an image extension that does not decode is an error
 * that names it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { checkDataset, selectSamples, type Dataset, type DatasetSplit } from '../dataset';
import { DatasetFormatError, DatasetUnavailableError } from '../datasetErrors';
import { stratifiedSplit, type SplitIndices } from '../stratifiedSplit';
import { convertChannels, decodeImage, IMAGE_EXTENSIONS } from './decodeImage';
import { resizeImage } from './resizeImage';

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
}

const TEST_FOLDERS = ['test', 'validation', 'val'];

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

/** A PNG / JPEG file as `channels` × size × size bytes (HWC), converted and resized as at load. */
export async function readImageFile(
  filePath: string,
  size: number,
  channels: 1 | 3,
): Promise<Uint8Array> {
  const image = decodeImage(await readFile(filePath), filePath);
  const pixels = convertChannels(image, channels);
  return resizeImage(pixels, image.height, image.width, channels, size, size);
}

export function isImageFile(name: string): boolean {
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
  if (folders.length === 0) {
    throw new DatasetFormatError(
      dir,
      'no class folders: expected DIR/<class>/*.png|jpg, or DIR/train/<class>/… and DIR/test/<class>/…',
    );
  }
  const classes = classNames ?? folders;
  const unknown = folders.filter((folder) => !classes.includes(folder));
  if (unknown.length > 0) {
    throw new DatasetFormatError(
      dir,
      `class folder ${unknown.map((name) => JSON.stringify(name)).join(', ')} is not a class of the training split (${classes.join(', ')})`,
    );
  }
  const { imageSize: side, channels } = options;
  const perImage = side * side * channels;
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  for (const folder of folders) {
    const classDir = path.join(dir, folder);
    const files = (await readdir(classDir)).filter(isImageFile).sort();
    if (files.length === 0) {
      throw new DatasetFormatError(classDir, 'no .png, .jpg or .jpeg files in this class folder');
    }
    for (const file of files) {
      chunks.push(await readImageFile(path.join(classDir, file), side, channels));
      labels.push(classes.indexOf(folder));
    }
  }
  const images = new Uint8Array(chunks.length * perImage);
  chunks.forEach((chunk, i) => images.set(chunk, i * perImage));
  const dataset: Dataset = {
    name: path.basename(path.resolve(dir)),
    images,
    labels: Int32Array.from(labels),
    count: labels.length,
    height: side,
    width: side,
    channels,
    numClasses: classes.length,
    classNames: [...classes],
  };
  checkDataset(dataset);
  return dataset;
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
    return readSplit(folders.test, options, await subfolders(folders.train));
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
