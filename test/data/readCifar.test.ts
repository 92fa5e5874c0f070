/** The CIFAR binary reader on small generated files (no downloads). */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  cifar100CoarseClassNames,
  cifar100FineClassNames,
  cifar10ClassNames,
} from '../../src/data/classNames';
import { DatasetFormatError, DatasetUnavailableError } from '../../src/data/datasetErrors';
import { loadDataset } from '../../src/data/loadDataset';
import { cifarRecordSize, readCifarFiles } from '../../src/data/readCifar';

/** A pixel value that encodes where it came from: record, channel and position. */
function pixelValue(record: number, channel: number, position: number): number {
  return (record * 31 + channel * 97 + position * 7) % 256;
}

/** Records in the file format: label byte(s), then the R, G and B planes. */
function records(labelBytes: number[][]): Buffer {
  const parts = labelBytes.map((labels, record) => {
    const pixels = Buffer.alloc(3072);
    for (let channel = 0; channel < 3; channel++) {
      for (let position = 0; position < 1024; position++) {
        pixels[channel * 1024 + position] = pixelValue(record, channel, position);
      }
    }
    return Buffer.concat([Buffer.from(labels), pixels]);
  });
  return Buffer.concat(parts);
}

describe('CIFAR binary files', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-cifar-'));
  });

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads CIFAR-10 records into HWC images with their labels', async () => {
    const file = path.join(dir, 'ten.bin');
    await fs.writeFile(file, records([[3], [9], [0]]));
    const dataset = await readCifarFiles('cifar10', [file]);
    expect(dataset).toMatchObject({
      name: 'cifar10',
      count: 3,
      height: 32,
      width: 32,
      channels: 3,
    });
    expect(dataset.numClasses).toBe(10);
    expect(dataset.classNames).toEqual(cifar10ClassNames);
    expect(Array.from(dataset.labels)).toEqual([3, 9, 0]);
    // Pixel (y, x) of image r, channel c is byte c·1024 + 32y + x of record r's pixels.
    for (const [record, y, x] of [
      [0, 0, 0],
      [1, 5, 17],
      [2, 31, 31],
    ] as const) {
      const position = 32 * y + x;
      const at = record * 3072 + position * 3;
      expect(Array.from(dataset.images.subarray(at, at + 3))).toEqual([
        pixelValue(record, 0, position),
        pixelValue(record, 1, position),
        pixelValue(record, 2, position),
      ]);
    }
  });

  it('reads CIFAR-100 fine labels by default and coarse ones on request', async () => {
    const file = path.join(dir, 'hundred.bin');
    // (coarse, fine) pairs.
    await fs.writeFile(
      file,
      records([
        [4, 0],
        [19, 99],
        [7, 58],
      ]),
    );
    const fine = await readCifarFiles('cifar100', [file]);
    expect(Array.from(fine.labels)).toEqual([0, 99, 58]);
    expect(fine.numClasses).toBe(100);
    expect(fine.classNames).toEqual(cifar100FineClassNames);
    expect(fine.classNames[58]).toBe('pickup_truck');
    const coarse = await readCifarFiles('cifar100', [file], { labels: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual([4, 19, 7]);
    expect(coarse.numClasses).toBe(20);
    expect(coarse.classNames).toEqual(cifar100CoarseClassNames);
    // Pixels start after both label bytes.
    expect(Array.from(fine.images.subarray(3072, 3075))).toEqual([
      pixelValue(1, 0, 0),
      pixelValue(1, 1, 0),
      pixelValue(1, 2, 0),
    ]);
    expect(cifar100FineClassNames).toHaveLength(100);
    expect(new Set(cifar100FineClassNames).size).toBe(100);
  });

  it('rejects a truncated file and an out-of-range label, naming the file', async () => {
    const truncated = path.join(dir, 'truncated.bin');
    await fs.writeFile(truncated, records([[1], [2]]).subarray(0, 2 * 3073 - 5));
    const read = readCifarFiles('cifar10', [truncated]);
    await expect(read).rejects.toThrow(DatasetFormatError);
    await expect(read).rejects.toThrow(
      `${truncated}: 6141 bytes is not a whole number of cifar10 records (3073 bytes each`,
    );
    // A CIFAR-100 file read as CIFAR-10 is caught by its size as well (3074 vs 3073 per record).
    const hundred = path.join(dir, 'hundred-as-ten.bin');
    await fs.writeFile(hundred, records([[1, 2]]));
    await expect(readCifarFiles('cifar10', [hundred])).rejects.toThrow(/not a whole number/);
    const empty = path.join(dir, 'empty.bin');
    await fs.writeFile(empty, Buffer.alloc(0));
    await expect(readCifarFiles('cifar10', [empty])).rejects.toThrow(`${empty}: 0 bytes`);

    const badLabel = path.join(dir, 'bad-label.bin');
    await fs.writeFile(badLabel, records([[1], [10]]));
    await expect(readCifarFiles('cifar10', [badLabel])).rejects.toThrow(
      `${badLabel}: record 1 has label 10, expected 0–9`,
    );
    expect(cifarRecordSize('cifar100')).toBe(3074);
  });

  it('loads the standard file names from dir or from the extracted archive folder', async () => {
    const archive = path.join(dir, 'download');
    const batches = path.join(archive, 'cifar-10-batches-bin');
    await fs.mkdir(batches, { recursive: true });
    for (let batch = 1; batch <= 5; batch++) {
      await fs.writeFile(
        path.join(batches, `data_batch_${batch}.bin`),
        records([[batch], [batch]]),
      );
    }
    await fs.writeFile(path.join(batches, 'test_batch.bin'), records([[7]]));
    const train = await loadDataset('cifar10', { split: 'train', dir: archive });
    expect(train.count).toBe(10);
    // Batches in order 1…5.
    expect(Array.from(train.labels)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    const test = await loadDataset('cifar10', { split: 'test', dir: batches });
    expect(Array.from(test.labels)).toEqual([7]);

    const hundred = path.join(dir, 'cifar-100-binary');
    await fs.mkdir(hundred);
    await fs.writeFile(
      path.join(hundred, 'train.bin'),
      records([
        [1, 11],
        [2, 22],
      ]),
    );
    const fine = await loadDataset('cifar100', { split: 'train', dir: hundred });
    expect(Array.from(fine.labels)).toEqual([11, 22]);
    const coarse = await loadDataset('cifar100', { split: 'train', dir, cifar100Labels: 'coarse' });
    expect(Array.from(coarse.labels)).toEqual([1, 2]);

    const missing = loadDataset('cifar100', { split: 'test', dir: hundred });
    await expect(missing).rejects.toThrow(DatasetUnavailableError);
    await expect(missing).rejects.toThrow(`missing: ${path.join(hundred, 'test.bin')}`);
    await expect(loadDataset('cifar10', { split: 'train' })).rejects.toThrow(
      /the "cifar10" dataset is read from local files: pass the folder with data_batch_1\.bin.* \(library: options\.dir; CLI: --data-dir DIR\)/,
    );
  });
});
