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

/** The PNG / JPEG files directly in `dir` (not in sub-folders), in name order. */
export async function imageFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter(isImageFile)
    .sort()
    .map((name) => path.join(dir, name));
}

/**
 * `files` as a dataset of `options.imageSize`² images with `options.channels` channels, each
 * converted and resized as {@link readImageFile} does, labelled as given.
 */
export async function readImageFiles(
  files: readonly string[],
  options: Pick<ImageFolderOptions, 'imageSize' | 'channels'>,
  labelling: { name: string; labels: readonly number[]; classNames: readonly string[] },
): Promise<Dataset> {
  const { imageSize: side, channels } = options;
  const perImage = side * side * channels;
  const images = new Uint8Array(files.length * perImage);
  for (const [i, file] of files.entries()) {
    images.set(await readImageFile(file, side, channels), i * perImage);
  }
  const dataset: Dataset = {
    name: labelling.name,
    images,
    labels: Int32Array.from(labelling.labels),
    count: files.length,
    height: side,
    width: side,
    channels,
    numClasses: labelling.classNames.length,
    classNames: [...labelling.classNames],
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
