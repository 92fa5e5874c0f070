/**
 * The CIFAR-10 / CIFAR-100 "binary version" files (https://www.cs.toronto.edu/~kriz/cifar.html),
 * which users download themselves; nothing here touches the network.
 *
 * A file is a sequence of records: the label byte(s), then 3072 pixel bytes: the 1024 red values,
 * then 1024 green, then 1024 blue, each plane row-major 32×32. CIFAR-10 records have one label
 * (3073 bytes); CIFAR-100 records have the coarse label then the fine label (3074 bytes).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { cifar100CoarseClassNames, cifar100FineClassNames, cifar10ClassNames } from './classNames';
import { DatasetFormatError, DatasetUnavailableError } from './datasetErrors';
import type { Dataset, DatasetSplit } from './dataset';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;

export type CifarVariant = 'cifar10' | 'cifar100';
/** CIFAR-100's two label sets: 100 fine classes or 20 superclasses. */
export type CifarLabelKind = 'fine' | 'coarse';

export interface ReadCifarOptions {
  /** For CIFAR-100: which label to keep; default `fine`. Ignored for CIFAR-10. */
  labels?: CifarLabelKind;
  /** The dataset's name; default the variant. */
  name?: string;
}

/** Record size in bytes of a variant. */
export function cifarRecordSize(variant: CifarVariant): number {
  return (variant === 'cifar10' ? 1 : 2) + PIXELS;
}

/** Reads and concatenates CIFAR binary files, converting each image from planar RGB to HWC. */
export async function readCifarFiles(
  variant: CifarVariant,
  files: readonly string[],
  options: ReadCifarOptions = {},
): Promise<Dataset> {
  const labelKind = options.labels ?? 'fine';
  const classNames =
    variant === 'cifar10'
      ? cifar10ClassNames
      : labelKind === 'fine'
        ? cifar100FineClassNames
        : cifar100CoarseClassNames;
  const recordSize = cifarRecordSize(variant);
  // CIFAR-100 records are (coarse, fine, pixels…).
  const labelOffset = variant === 'cifar100' && labelKind === 'fine' ? 1 : 0;

  const contents: Buffer[] = [];
  for (const file of files) {
    const bytes = await fs.readFile(file);
    if (bytes.length === 0 || bytes.length % recordSize !== 0) {
      throw new DatasetFormatError(
        file,
        `${bytes.length} bytes is not a whole number of ${variant} records (${recordSize} bytes each: ` +
          `${recordSize - PIXELS} label byte(s) + 3072 pixels); the file is truncated or not ${variant} binary`,
      );
    }
    contents.push(bytes);
  }
  const count = contents.reduce((sum, bytes) => sum + bytes.length / recordSize, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let sample = 0;
  contents.forEach((bytes, fileIndex) => {
    const records = bytes.length / recordSize;
    for (let record = 0; record < records; record++, sample++) {
      const start = record * recordSize;
      const label = bytes[start + labelOffset] as number;
      if (label >= classNames.length) {
        throw new DatasetFormatError(
          files[fileIndex] as string,
          `record ${record} has ${labelKind === 'coarse' && variant === 'cifar100' ? 'coarse ' : ''}label ${label}, expected 0–${classNames.length - 1}`,
        );
      }
      labels[sample] = label;
      const pixels = start + recordSize - PIXELS;
      const out = sample * PIXELS;
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = bytes[pixels + p] as number;
        images[out + 3 * p + 1] = bytes[pixels + PLANE + p] as number;
        images[out + 3 * p + 2] = bytes[pixels + 2 * PLANE + p] as number;
      }
    }
  });
  return {
    name: options.name ?? variant,
    images,
    labels,
    count,
    height: SIDE,
    width: SIDE,
    channels: 3,
    numClasses: classNames.length,
    classNames,
  };
}

/** The canonical file names of each split. */
export function cifarFileNames(variant: CifarVariant, split: DatasetSplit): string[] {
  if (variant === 'cifar100') return [split === 'train' ? 'train.bin' : 'test.bin'];
  return split === 'train'
    ? [1, 2, 3, 4, 5].map((batch) => `data_batch_${batch}.bin`)
    : ['test_batch.bin'];
}

const archiveFolders: Record<CifarVariant, string> = {
  cifar10: 'cifar-10-batches-bin',
  cifar100: 'cifar-100-binary',
};
const downloads: Record<CifarVariant, string> = {
  cifar10: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  cifar100: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
};

/**
 * A split of CIFAR from `dir`: the folder with the .bin files, or the folder the archive was
 * extracted into (its `cifar-10-batches-bin` / `cifar-100-binary` inside). The splits are the
 * authors' own: 50 000 train, 10 000 test.
 */
export async function loadCifar(
  variant: CifarVariant,
  split: DatasetSplit,
  dir: string | undefined,
  options: ReadCifarOptions = {},
): Promise<Dataset> {
  const names = cifarFileNames(variant, split);
  if (dir === undefined) {
    // This layer serves both the library (loadDataset's `dir`) and the CLI (--data-dir): the
    // message names both, so that neither reader is left to guess what "dir" is.
    throw new DatasetUnavailableError(
      `the "${variant}" dataset is read from local files: pass the folder with ${names.join(', ')} ` +
        `(library: options.dir; CLI: --data-dir DIR), from the binary version: ${downloads[variant]}`,
    );
  }
  const candidates = [dir, path.join(dir, archiveFolders[variant])];
  for (const candidate of candidates) {
    const files = names.map((name) => path.join(candidate, name));
    if (await allExist(files)) return readCifarFiles(variant, files, options);
  }
  const missing: string[] = [];
  for (const name of names) {
    if (!(await allExist([path.join(dir, name)]))) missing.push(path.join(dir, name));
  }
  throw new DatasetUnavailableError(
    `the "${variant}" ${split} split needs ${names.join(', ')} in ${dir} or ${path.join(dir, archiveFolders[variant])} ` +
      `(the binary version, ${downloads[variant]}); missing: ${missing.join(', ')}`,
  );
}

async function allExist(files: readonly string[]): Promise<boolean> {
  for (const file of files) {
    try {
      if (!(await fs.stat(file)).isFile()) return false;
    } catch {
      return false;
    }
  }
  return true;
}
