/**
 * The one in-memory shape every loader returns and the batch pipeline reads: uint8 pixels in HWC
 * order per image (what the sources store, 4× smaller than float), labels as class indices.
 */
import { dataStream, DataStream } from './dataRng';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10' | 'cifar100';
export const datasetNames: readonly DatasetName[] = [
  'mnist',
  'fashion-mnist',
  'cifar10',
  'cifar100',
];

/** A built-in dataset's name, or the path of a folder of images (see `loadImageFolder`). */
export type DatasetSource = DatasetName | (string & {});

export function isDatasetName(source: string): source is DatasetName {
  return (datasetNames as readonly string[]).includes(source);
}

export type DatasetSplit = 'train' | 'test';

export interface Dataset {
  /** Which dataset these samples come from (`mnist`, `fashion-mnist`, `cifar10`, `cifar100`, …). */
  readonly name: string;
  /** count · height · width · channels bytes, image after image, each row-major HWC. */
  readonly images: Uint8Array;
  /** count class indices in [0, numClasses). */
  readonly labels: Uint8Array | Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  /** numClasses names in label order. */
  readonly classNames: readonly string[];
}

/** Bytes per image. */
export function imageSize(dataset: Dataset): number {
  return dataset.height * dataset.width * dataset.channels;
}

/**
 * Checks that the fields agree with each other and every label is a class; loaders call it on what
 * they build so a bug or a bad file fails here, not as a wrong accuracy later.
 */
export function checkDataset(dataset: Dataset): void {
  const { count, height, width, channels, numClasses } = dataset;
  for (const [field, value] of Object.entries({ count, height, width, channels, numClasses })) {
    const least = field === 'count' ? 0 : 1;
    if (!Number.isInteger(value) || value < least) {
      throw new RangeError(
        `Expected an integer ≥ ${least} for dataset.${field} but received ${value}`,
      );
    }
  }
  if (dataset.images.length !== count * imageSize(dataset)) {
    throw new RangeError(
      `Expected ${count}·${height}·${width}·${channels} = ${count * imageSize(dataset)} bytes for dataset.images but received ${dataset.images.length}`,
    );
  }
  if (dataset.labels.length !== count) {
    throw new RangeError(
      `Expected ${count} labels for dataset.labels but received ${dataset.labels.length}`,
    );
  }
  if (dataset.classNames.length !== numClasses) {
    throw new RangeError(
      `Expected ${numClasses} names for dataset.classNames but received ${dataset.classNames.length}`,
    );
  }
  for (let i = 0; i < count; i++) {
    const label = dataset.labels[i] as number;
    if (!(label >= 0 && label < numClasses)) {
      throw new RangeError(
        `Expected a class index in [0, ${numClasses}) for dataset.labels[${i}] but received ${label}`,
      );
    }
  }
}

/** Per-class sample counts. */
export function classCounts(dataset: Pick<Dataset, 'labels' | 'numClasses'>): number[] {
  const counts = new Array<number>(dataset.numClasses).fill(0);
  for (const label of dataset.labels) counts[label] = (counts[label] as number) + 1;
  return counts;
}

/** A new dataset of the samples at `indices`, in that order (copies the pixels). */
export function selectSamples(
  dataset: Dataset,
  indices: ArrayLike<number>,
  name = dataset.name,
): Dataset {
  const size = imageSize(dataset);
  const images = new Uint8Array(indices.length * size);
  const labels =
    dataset.labels instanceof Uint8Array
      ? new Uint8Array(indices.length)
      : new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] as number;
    if (!Number.isInteger(index) || index < 0 || index >= dataset.count) {
      throw new RangeError(
        `Expected a sample index in [0, ${dataset.count}) for indices[${i}] but received ${index}`,
      );
    }
    labels[i] = dataset.labels[index] as number;
  }
  // Splits and subsets are ascending, mostly in runs of consecutive samples: one copy per run
  // instead of one per image (the 60 000-image Fashion-MNIST train split: ~10 000 copies).
  for (let i = 0; i < indices.length;) {
    const first = indices[i] as number;
    let run = 1;
    while (i + run < indices.length && indices[i + run] === first + run) run++;
    images.set(dataset.images.subarray(first * size, (first + run) * size), i * size);
    i += run;
  }
  return { ...pickShape(dataset), name, images, labels, count: indices.length };
}

function pickShape(dataset: Dataset) {
  const { height, width, channels, numClasses, classNames } = dataset;
  return { height, width, channels, numClasses, classNames };
}

/**
 * How many of each class a draw of `total` from `counts` takes, in proportion to the class sizes,
 * summing to exactly `total`: floors first, then the largest remainders (ties to the lower class).
 */
export function apportion(counts: readonly number[], total: number): number[] {
  const population = counts.reduce((sum, count) => sum + count, 0);
  if (!Number.isInteger(total) || total < 0 || total > population) {
    throw new RangeError(
      `Expected an integer in [0, ${population}] for the number of samples but received ${total}`,
    );
  }
  if (population === 0) return counts.map(() => 0);
  // Integer arithmetic: total · count stays far below 2^53 for any real dataset.
  const quotas = counts.map((count) => Math.floor((total * count) / population));
  const order = counts
    .map((count, label) => ({ label, remainder: (total * count) % population }))
    .sort((a, b) => b.remainder - a.remainder || a.label - b.label);
  let missing = total - quotas.reduce((sum, quota) => sum + quota, 0);
  for (const { label } of order) {
    if (missing === 0) break;
    quotas[label] = (quotas[label] as number) + 1;
    missing--;
  }
  return quotas;
}

/** Sample indices grouped by class, each group ascending. */
export function indicesByClass(dataset: Pick<Dataset, 'labels' | 'numClasses'>): number[][] {
  const byClass: number[][] = Array.from({ length: dataset.numClasses }, () => []);
  dataset.labels.forEach((label, index) => byClass[label]?.push(index));
  return byClass;
}

export interface SubsetOptions {
  /** Seeds which samples a count draws; default 0. */
  seed?: number;
}

/**
 * A smaller dataset for short runs and tests. A count draws that many samples, class-stratified
 * (each class in proportion, seeded) and kept in the dataset's order, so `subset(train, 500)` has
 * every class even when the source is sorted by class. A list of indices takes exactly those, in
 * that order.
 */
export function subset(
  dataset: Dataset,
  countOrIndices: number | ArrayLike<number>,
  options: SubsetOptions = {},
): Dataset {
  if (typeof countOrIndices !== 'number') return selectSamples(dataset, countOrIndices);
  const byClass = indicesByClass(dataset);
  const quotas = apportion(
    byClass.map((members) => members.length),
    countOrIndices,
  );
  const chosen: number[] = [];
  byClass.forEach((members, label) => {
    const stream = dataStream(options.seed ?? 0, DataStream.subset, label);
    const order = Int32Array.from(members);
    // A partial Fisher–Yates: only the first `quota` positions are needed.
    const quota = quotas[label] as number;
    for (let i = 0; i < quota; i++) {
      const j = i + stream.nextBelow(order.length - i);
      const swap = order[i] as number;
      order[i] = order[j] as number;
      order[j] = swap;
      chosen.push(order[i] as number);
    }
  });
  chosen.sort((a, b) => a - b);
  return selectSamples(dataset, chosen);
}

/**
 * The dataset with its classes in `classNames`' order (a model head's labels), when those are the
 * same names in another order: image folders number classes by sorted folder name, a model by its
 * training data's order. Returned unchanged when the names already agree in order, or are not the
 * same set (then the classes can only be matched by index).
 */
export function alignClasses(dataset: Dataset, classNames: readonly string[]): Dataset {
  const current = dataset.classNames;
  const sameOrder =
    current.length === classNames.length && current.every((n, i) => n === classNames[i]);
  const sameSet =
    current.length === classNames.length &&
    new Set(classNames).size === classNames.length &&
    current.every((name) => classNames.includes(name));
  if (sameOrder || !sameSet) return dataset;
  const newIndex = current.map((name) => classNames.indexOf(name));
  const labels = dataset.labels.map((label) => newIndex[label] as number);
  return { ...dataset, labels, classNames: [...classNames] };
}
