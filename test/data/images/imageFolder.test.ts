/**
 * Image folders as datasets: PNG and JPEG files written with the real encoders (pngjs, jpeg-js),
 * decoded, converted and resized at load, in both folder layouts, and every way a folder can be
 * wrong.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  convertChannels,
  decodeImage,
  type DecodedImage,
} from '../../../src/data/images/decodeImage';
import { decodeImageFiles, decodeWorkerScript } from '../../../src/data/images/decodePool';
import { loadImageFolder, readImageFile } from '../../../src/data/images/readImageFolder';
import { resizeImage } from '../../../src/data/images/resizeImage';
import { loadDataset } from '../../../src/data/loadDataset';

/** PNG bytes of `pixels` (HWC, 1 / 3 / 4 channels). */
function encodePng(width: number, height: number, channels: 1 | 3 | 4, pixels: Uint8Array): Buffer {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 4; c++) {
      png.data[4 * p + c] =
        c === 3
          ? channels === 4
            ? (pixels[4 * p + 3] as number)
            : 255
          : (pixels[p * channels + (channels === 1 ? 0 : c)] as number);
    }
  }
  const colorType = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  return PNG.sync.write(png, { colorType });
}

function encodeJpeg(width: number, height: number, rgb: Uint8Array, quality = 100): Buffer {
  const data = Buffer.alloc(width * height * 4, 255);
  for (let p = 0; p < width * height; p++)
    rgb.subarray(3 * p, 3 * p + 3).forEach((v, c) => (data[4 * p + c] = v));
  return jpeg.encode({ width, height, data }, quality).data;
}

/** A smooth test picture (JPEG keeps smooth images close). */
function picture(width: number, height: number, channels: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: width * height * channels }, (_, i) => {
    const p = Math.floor(i / channels);
    const [y, x, c] = [Math.floor(p / width), p % width, i % channels];
    return Math.round(127 + 100 * Math.sin((x + 2 * y + seed) / 4 + c));
  });
}

describe('decodeImage', () => {
  test('PNG grey, RGB and RGBA decode to their exact pixels (alpha dropped)', () => {
    const grey = picture(5, 3, 1, 0);
    expect(decodeImage(encodePng(5, 3, 1, grey), 'g.png')).toEqual({
      width: 5,
      height: 3,
      channels: 1,
      pixels: grey,
    });
    const rgb = picture(4, 6, 3, 1);
    expect(decodeImage(encodePng(4, 6, 3, rgb), 'c.png').pixels).toEqual(rgb);
    const rgba = picture(4, 2, 4, 2);
    const decoded = decodeImage(encodePng(4, 2, 4, rgba), 'a.png');
    expect(decoded.channels).toBe(3);
    expect(decoded.pixels).toEqual(Uint8Array.from(rgba.filter((_, i) => i % 4 !== 3)));
  });

  test('JPEG decodes to within a few levels at quality 100; a grey JPEG has one channel', () => {
    const rgb = picture(16, 16, 3, 3);
    const decoded = decodeImage(encodeJpeg(16, 16, rgb), 'c.jpg');
    expect(decoded).toMatchObject({ width: 16, height: 16, channels: 3 });
    let worst = 0;
    decoded.pixels.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (rgb[i] as number)))));
    expect(worst).toBeLessThanOrEqual(8);
    const grey = picture(8, 8, 1, 4);
    const greyRgb = Uint8Array.from(
      { length: 8 * 8 * 3 },
      (_, i) => grey[Math.floor(i / 3)] as number,
    );
    expect(decodeImage(encodeJpeg(8, 8, greyRgb), 'g.jpg').channels).toBe(1);
  });

  test('a file that is no image, or a truncated one, is refused naming the file', () => {
    expect(() => decodeImage(Buffer.from('hello'), 'notes.png')).toThrow(
      /notes\.png: cannot decode the image: not a PNG or JPEG file/,
    );
    const png = encodePng(5, 3, 1, picture(5, 3, 1, 0));
    expect(() => decodeImage(png.subarray(0, 30), 'cut.png')).toThrow(
      /cut\.png: cannot decode the image/,
    );
  });

  test('RGB to grey uses Pillow’s convert("L") weights; grey to RGB copies', () => {
    const image: DecodedImage = {
      width: 4,
      height: 1,
      channels: 3,
      pixels: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]),
    };
    // Pillow: L = R·299/1000 + G·587/1000 + B·114/1000, rounded: 76, 150, 29, 18.
    expect(Array.from(convertChannels(image, 1))).toEqual([76, 150, 29, 18]);
    const grey: DecodedImage = {
      width: 2,
      height: 1,
      channels: 1,
      pixels: Uint8Array.from([7, 9]),
    };
    expect(Array.from(convertChannels(grey, 3))).toEqual([7, 7, 7, 9, 9, 9]);
  });
});

describe('loadImageFolder', () => {
  const root = mkdtempSync(join(tmpdir(), 'superlora-images-'));
  /** Writes DIR/<class>/<i>.png of 6×8 RGB pictures; returns the pictures by class. */
  function writeClasses(dir: string, counts: Record<string, number>): Map<string, Uint8Array[]> {
    const written = new Map<string, Uint8Array[]>();
    for (const [name, count] of Object.entries(counts)) {
      mkdirSync(join(dir, name), { recursive: true });
      const pictures: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const pixels = picture(6, 8, 3, 100 * name.charCodeAt(0) + i);
        writeFileSync(
          join(dir, name, `${String(i).padStart(3, '0')}.png`),
          encodePng(6, 8, 3, pixels),
        );
        pictures.push(pixels);
      }
      written.set(name, pictures);
    }
    return written;
  }

  test('train/ and test/ folders: classes sorted by name, every image converted and resized', async () => {
    const dir = join(root, 'split');
    const train = writeClasses(join(dir, 'train'), { zebra: 2, ant: 3 });
    writeClasses(join(dir, 'test'), { zebra: 1 });
    writeFileSync(join(dir, 'train', 'ant', 'README.txt'), 'not an image');
    writeFileSync(join(dir, 'train', 'ant', '.hidden.png'), 'not an image either');
    const options = { imageSize: 4, channels: 1 } as const;
    const trainSet = await loadImageFolder(dir, { ...options, split: 'train' });
    expect(trainSet).toMatchObject({ count: 5, height: 4, width: 4, channels: 1, numClasses: 2 });
    expect(trainSet.classNames).toEqual(['ant', 'zebra']);
    expect(Array.from(trainSet.labels)).toEqual([0, 0, 0, 1, 1]);
    // The first zebra: converted to grey, then resized 8×6 → 4×4.
    const zebra = train.get('zebra')![0]!;
    const expected = resizeImage(
      convertChannels({ width: 6, height: 8, channels: 3, pixels: zebra }, 1),
      8,
      6,
      1,
      4,
      4,
    );
    expect(trainSet.images.subarray(3 * 16, 4 * 16)).toEqual(expected);
    const testSet = await loadImageFolder(dir, { ...options, split: 'test' });
    expect(testSet).toMatchObject({ count: 1, numClasses: 2, classNames: ['ant', 'zebra'] });
    expect(Array.from(testSet.labels)).toEqual([1]);
  });

  test('class folders only: a seeded, class-stratified 20 % is held out, the same on every load', async () => {
    const dir = join(root, 'unsplit');
    writeClasses(dir, { a: 10, b: 5, c: 5 });
    const load = (split: 'train' | 'test') =>
      loadDataset(dir, { split, imageSize: 8, channels: 3 });
    const [trainSet, testSet] = [await load('train'), await load('test')];
    expect([trainSet.count, testSet.count]).toEqual([16, 4]);
    expect(Array.from(testSet.labels).sort()).toEqual([0, 0, 1, 2]);
    expect(testSet.classNames).toEqual(['a', 'b', 'c']);
    // No image on both sides (all 20 pictures differ).
    const key = (d: typeof trainSet, i: number) => d.images.subarray(i * 192, (i + 1) * 192).join();
    const trainKeys = new Set(Array.from({ length: 16 }, (_, i) => key(trainSet, i)));
    for (let i = 0; i < 4; i++) expect(trainKeys.has(key(testSet, i))).toBe(false);
    expect((await load('test')).images).toEqual(testSet.images);
  });

  test('every way a folder can be wrong is one clear error', async () => {
    const options = { split: 'train', imageSize: 4, channels: 1 } as const;
    await expect(loadImageFolder(join(root, 'missing'), options)).rejects.toThrow(
      /missing: no such folder of images/,
    );
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(loadImageFolder(empty, options)).rejects.toThrow(/empty: no class folders/);
    const noImages = join(root, 'no-images');
    writeClasses(noImages, { ant: 1 });
    mkdirSync(join(noImages, 'cat'), { recursive: true });
    writeFileSync(join(noImages, 'cat', 'a.txt'), '');
    await expect(loadImageFolder(noImages, options)).rejects.toThrow(
      /cat: no \.png, \.jpg or \.jpeg files/,
    );
    const broken = join(root, 'broken');
    writeClasses(broken, { ant: 1, cat: 1 });
    writeFileSync(join(broken, 'cat', 'bad.jpg'), 'nope');
    await expect(loadImageFolder(broken, options)).rejects.toThrow(
      /bad\.jpg: cannot decode the image/,
    );
    const extraClass = join(root, 'extra');
    writeClasses(join(extraClass, 'train'), { ant: 1, cat: 1 });
    writeClasses(join(extraClass, 'test'), { dog: 1 });
    await expect(loadImageFolder(extraClass, { ...options, split: 'test' })).rejects.toThrow(
      /class folder "dog" is not a class of the training split \(ant, cat\)/,
    );
    // One class: nothing to learn (training would fail in the loss); refused before any decoding,
    // whichever split is asked for, naming the folder and the class.
    const oneClass = join(root, 'one-class');
    writeClasses(oneClass, { cat: 2 });
    for (const split of ['train', 'test'] as const) {
      await expect(loadImageFolder(oneClass, { ...options, split })).rejects.toThrow(
        /one-class: only one class folder \("cat"\): a classifier needs at least 2/,
      );
    }
    const oneTrainClass = join(root, 'one-train-class');
    writeClasses(join(oneTrainClass, 'train'), { cat: 1 });
    writeClasses(join(oneTrainClass, 'test'), { cat: 1 });
    for (const split of ['train', 'test'] as const) {
      await expect(loadImageFolder(oneTrainClass, { ...options, split })).rejects.toThrow(
        /one-train-class[/\\]train: only one class folder \("cat"\)/,
      );
    }
    await expect(
      loadDataset('fashion_mnist', { split: 'train', imageSize: 28, channels: 1 }),
    ).rejects.toThrow(
      /Expected mnist, fashion-mnist, cifar10, cifar100 or a folder of images for the dataset but received "fashion_mnist"/,
    );
    await expect(loadDataset(broken, { split: 'train' })).rejects.toThrow(
      /options\.imageSize and options\.channels/,
    );
  });

  test('a second load comes from the cache, keyed by each file’s size and modification time', async () => {
    // train/ + test/: a folder without them is also memoised in the process (for its hold-out).
    const dir = join(root, 'cached');
    writeClasses(join(dir, 'train'), { a: 3, b: 2 });
    writeClasses(join(dir, 'test'), { a: 1 });
    // Whole-second time stamps, which utimes restores exactly.
    const stamp = 1_700_000_000;
    const file = join(dir, 'train', 'b', '001.png');
    utimesSync(file, stamp, stamp);
    const cacheDir = join(root, 'cache');
    const options = { split: 'train', imageSize: 5, channels: 3, cacheDir } as const;
    const first = await loadImageFolder(dir, options);
    expect(readdirSync(join(cacheDir, 'images'))).toHaveLength(1);
    const uncached = await loadImageFolder(dir, { ...options, cacheDir: null });
    expect(first.images).toEqual(uncached.images);
    // Garbage of the same size and time stamp: the cache still answers, so it did not decode.
    writeFileSync(file, Buffer.alloc(statSync(file).size, 7));
    utimesSync(file, stamp, stamp);
    const second = await loadImageFolder(dir, options);
    expect(second.images).toEqual(first.images);
    expect(Array.from(second.labels)).toEqual(Array.from(first.labels));
    expect(second.classNames).toEqual(['a', 'b']);
    // A new time stamp is a new key: the file is decoded again, and named.
    utimesSync(file, stamp, stamp + 5);
    await expect(loadImageFolder(dir, options)).rejects.toThrow(/001\.png: cannot decode/);
  });

  test('cached folders stay under SUPERLORA_IMAGE_CACHE_MB: a hit marks a folder used, the least recently used goes first, 0 caches nothing', async () => {
    const saved = process.env.SUPERLORA_IMAGE_CACHE_MB;
    try {
      const cacheDir = join(root, 'limited-cache');
      const options = { split: 'train', imageSize: 5, channels: 3, cacheDir } as const;
      const folders = ['p', 'q', 'r'].map((name) => {
        writeClasses(join(root, 'limited', name, 'train'), { a: 2, b: 2 });
        writeClasses(join(root, 'limited', name, 'test'), { a: 1 });
        return join(root, 'limited', name);
      });
      // Each folder's cache: 26 header bytes, its source, 4 images of 5×5×3, 4 labels.
      const oneFolder = 26 + 'images:'.length + 64 + 4 * 75 + 4;
      process.env.SUPERLORA_IMAGE_CACHE_MB = String((2.5 * oneFolder) / 2 ** 20);
      const cached = (): string[] => readdirSync(join(cacheDir, 'images')).sort();
      await loadImageFolder(folders[0]!, options);
      const [first] = cached();
      utimesSync(join(cacheDir, 'images', first!), 1000, 1000);
      await loadImageFolder(folders[1]!, options);
      const [second] = cached().filter((name) => name !== first);
      utimesSync(join(cacheDir, 'images', second!), 2000, 2000);
      // A hit on the first makes it the most recently used ...
      await loadImageFolder(folders[0]!, options);
      expect(statSync(join(cacheDir, 'images', first!)).mtimeMs).toBeGreaterThan(2000 * 1000);
      // ... so the third folder's cache pushes out the second's.
      await loadImageFolder(folders[2]!, options);
      expect(cached()).toHaveLength(2);
      expect(cached()).toContain(first);
      expect(cached()).not.toContain(second);

      process.env.SUPERLORA_IMAGE_CACHE_MB = '0';
      const uncachedDir = join(root, 'no-cache');
      await loadImageFolder(folders[0]!, { ...options, cacheDir: uncachedDir });
      expect(existsSync(uncachedDir)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.SUPERLORA_IMAGE_CACHE_MB;
      else process.env.SUPERLORA_IMAGE_CACHE_MB = saved;
    }
  });

  test('many files decode on worker threads into exactly what one thread decodes', async () => {
    expect(decodeWorkerScript()).not.toBeNull(); // the compiled worker: `npm test` builds it first
    const dir = join(root, 'many');
    writeClasses(dir, { m: 70 });
    const files = readdirSync(join(dir, 'm')).map((name) => join(dir, 'm', name));
    // Small files would decode on this thread: workersFromBytes 0 makes them go to the pool.
    const pool = { threads: 2, workersFromBytes: 0 };
    const pooled = await decodeImageFiles(files, 6, 3, pool);
    const one = await decodeImageFiles(files, 6, 3, { threads: 1 });
    expect(pooled).toEqual(one);
    expect(pooled.subarray(69 * 108)).toEqual(await readImageFile(files[69]!, 6, 3));
    writeFileSync(files[40]!, 'not a png');
    await expect(decodeImageFiles(files, 6, 3, pool)).rejects.toThrow(
      new RegExp(`^${files[40]!.replace(/[.]/g, '\\.')}: cannot decode the image`),
    );
  });
});
