/** The batch pipeline: layout, resize, channels, normalisation, seeded augmentation and order. */
import * as tf from '@tensorflow/tfjs';

import { batchAt, defaultAugmentation, type AugmentOptions } from '../../src/data/batchAt';
import { classCounts, subset, type Dataset } from '../../src/data/dataset';
import { batchIndices, epochPermutation, stepsPerEpoch } from '../../src/data/epochPermutation';

/** A dataset whose pixel values are a function of (sample, y, x, channel). */
function synthetic(
  count: number,
  height: number,
  width: number,
  channels: number,
  pixel: (sample: number, y: number, x: number, channel: number) => number,
): Dataset {
  const images = new Uint8Array(count * height * width * channels);
  let at = 0;
  for (let sample = 0; sample < count; sample++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let channel = 0; channel < channels; channel++)
          images[at++] = pixel(sample, y, x, channel);
  return {
    name: 'synthetic',
    images,
    labels: Uint8Array.from({ length: count }, (_, sample) => sample % 3),
    count,
    height,
    width,
    channels,
    numClasses: 3,
    classNames: ['a', 'b', 'c'],
  };
}

/** [B, C, H, W] as nested arrays. */
function values(tensor: tf.Tensor): number[][][][] {
  return tensor.arraySync() as number[][][][];
}

describe('batchAt', () => {
  it('produces float32 [B, C, H, W] normalised per channel as (x/255 − mean)/std', () => {
    const dataset = synthetic(4, 2, 3, 3, (s, y, x, c) => (s * 50 + y * 20 + x * 7 + c * 3) % 256);
    const mean = [0.4, 0.5, 0.6];
    const std = [0.2, 0.25, 0.3];
    const { pixelValues, labels } = batchAt(dataset, [2, 0], { mean, std });
    expect(pixelValues.shape).toEqual([2, 3, 2, 3]);
    expect(pixelValues.dtype).toBe('float32');
    expect(labels.dtype).toBe('int32');
    expect(Array.from(labels.dataSync())).toEqual([2, 0]);
    const got = values(pixelValues);
    [2, 0].forEach((sample, b) => {
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 2; y++)
          for (let x = 0; x < 3; x++) {
            const raw = (sample * 50 + y * 20 + x * 7 + c * 3) % 256;
            const expected = (raw / 255 - (mean[c] as number)) / (std[c] as number);
            expect(got[b]?.[c]?.[y]?.[x]).toBeCloseTo(expected, 5);
          }
    });
    tf.dispose([pixelValues, labels]);
  });

  it('defaults to mean = std = 0.5: bytes 0 and 255 become −1 and 1', () => {
    const dataset = synthetic(1, 1, 2, 1, (_s, _y, x) => (x === 0 ? 0 : 255));
    const { pixelValues, labels } = batchAt(dataset, [0]);
    expect(Array.from(pixelValues.dataSync())).toEqual([-1, 1]);
    tf.dispose([pixelValues, labels]);
  });

  it('keeps a constant image constant through resizing (28→32, 28→224)', () => {
    const dataset = synthetic(2, 28, 28, 1, () => 200);
    const expected = (200 / 255 - 0.5) / 0.5;
    for (const size of [32, 224]) {
      const { pixelValues, labels } = batchAt(dataset, [0, 1], { imageSize: size });
      expect(pixelValues.shape).toEqual([2, 1, size, size]);
      const data = pixelValues.dataSync();
      expect(Math.max(...data) - expected).toBeLessThan(1e-6);
      expect(expected - Math.min(...data)).toBeLessThan(1e-6);
      tf.dispose([pixelValues, labels]);
    }
  });

  it('resizes bilinearly with half-pixel centres', () => {
    // [0, 255] stretched to four pixels samples at x = −0.25, 0.25, 0.75, 1.25 (clamped).
    const dataset = synthetic(1, 1, 2, 1, (_s, _y, x) => (x === 0 ? 0 : 255));
    const { pixelValues, labels } = batchAt(dataset, [0], {
      imageSize: [1, 4],
      mean: 0,
      std: 1 / 255,
    });
    const got = Array.from(pixelValues.dataSync());
    [0, 63.75, 191.25, 255].forEach((value, i) => expect(got[i]).toBeCloseTo(value, 3));
    tf.dispose([pixelValues, labels]);
  });

  it('repeats a grayscale channel when the model wants RGB', () => {
    const dataset = synthetic(2, 4, 4, 1, (s, y, x) => s * 100 + y * 10 + x);
    const { pixelValues, labels } = batchAt(dataset, [0, 1], { channels: 3, imageSize: 8 });
    expect(pixelValues.shape).toEqual([2, 3, 8, 8]);
    const got = values(pixelValues);
    for (const image of got) {
      expect(image[1]).toEqual(image[0]);
      expect(image[2]).toEqual(image[0]);
    }
    tf.dispose([pixelValues, labels]);
    expect(() => batchAt(dataset, [0], { channels: 2 })).toThrow(
      'Expected 1 or 3 for options.channels (the dataset has 1) but received 2',
    );
    expect(() => batchAt(dataset, [0], { channels: 3, mean: [0.5, 0.5] })).toThrow(
      /Expected a number or 3 numbers for options.mean/,
    );
    expect(() => batchAt(dataset, [0], { std: 0 })).toThrow(/positive number for options.std\[0\]/);
    expect(() => batchAt(dataset, [2])).toThrow(/sample index in \[0, 2\) for indices\[0\]/);
  });

  it('leaves no tensors behind but the two it returns', () => {
    const dataset = synthetic(3, 5, 5, 1, (s, y, x) => s + y + x);
    const before = tf.memory().numTensors;
    const batch = batchAt(dataset, [0, 1, 2], { imageSize: 9, channels: 3 });
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([batch.pixelValues, batch.labels]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('augmentation', () => {
  // Distinct values everywhere, so every shift and flip is recognisable.
  const dataset = synthetic(16, 8, 8, 1, (s, y, x) => 1 + ((s * 64 + y * 8 + x) % 250));
  const raw = (sample: number, y: number, x: number): number =>
    dataset.images[sample * 64 + y * 8 + x] as number;
  const indices = Array.from({ length: 16 }, (_, i) => i);
  const augment = { cropPadding: 2, horizontalFlip: true };
  const bytesOf = (seed: number, epoch: number, step: number): number[][][] =>
    tf.tidy(() => {
      const { pixelValues } = batchAt(dataset, indices, {
        augment,
        seed,
        epoch,
        step,
        mean: 0,
        std: 1 / 255,
      });
      return (values(pixelValues) as number[][][][]).map((image) =>
        (image[0] as number[][]).map((row) => row.map(Math.round)),
      );
    });

  it('is the same for the same (seed, epoch, step) and differs across steps, epochs and seeds', () => {
    const batch = bytesOf(7, 1, 3);
    expect(bytesOf(7, 1, 3)).toEqual(batch);
    expect(bytesOf(7, 1, 4)).not.toEqual(batch);
    expect(bytesOf(7, 2, 3)).not.toEqual(batch);
    expect(bytesOf(8, 1, 3)).not.toEqual(batch);
  });

  it('only shifts within the padding (zeros outside) and mirrors', () => {
    const seen = new Set<string>();
    for (let step = 0; step < 4; step++) {
      bytesOf(0, 0, step).forEach((image, sample) => {
        const matches: string[] = [];
        for (const flip of [false, true])
          for (let dy = -2; dy <= 2; dy++)
            for (let dx = -2; dx <= 2; dx++) {
              const ok = image.every((row, y) =>
                row.every((value, x) => {
                  const sy = y + dy;
                  const sx = (flip ? 7 - x : x) + dx;
                  const expected = sy < 0 || sy >= 8 || sx < 0 || sx >= 8 ? 0 : raw(sample, sy, sx);
                  return value === expected;
                }),
              );
              if (ok) matches.push(`${flip} ${dy} ${dx}`);
            }
        expect(matches).toHaveLength(1);
        seen.add(matches[0] as string);
      });
    }
    // 64 draws over 50 outcomes reach both flips and many shifts.
    expect([...seen].some((m) => m.startsWith('true'))).toBe(true);
    expect([...seen].some((m) => m.startsWith('false'))).toBe(true);
    expect(seen.size).toBeGreaterThan(20);
  });

  const augmentedBytes = (options: AugmentOptions, step: number): number[][][] =>
    tf.tidy(() => {
      const { pixelValues } = batchAt(dataset, indices, {
        augment: options,
        seed: 0,
        epoch: 0,
        step,
        mean: 0,
        std: 1 / 255,
      });
      return (values(pixelValues) as number[][][][]).map((image) => image[0] as number[][]);
    });

  it('with randomResizedCrop, replaces the shifts and keeps the same flips', () => {
    // A box of the whole area at ratio 1 is the whole image: only the flips remain.
    const whole = { scale: [1, 1], ratio: [1, 1] } as const;
    const flipsOnly = augmentedBytes({ horizontalFlip: true }, 5);
    const cropped = augmentedBytes({ ...augment, randomResizedCrop: whole }, 5);
    expect(cropped).toEqual(flipsOnly);
    expect(flipsOnly.some((image, sample) => image[0]?.[0] !== raw(sample, 0, 0))).toBe(true);
    // Smaller boxes are stretched: every image is a bilinear blow-up of a part of the source, so
    // no pixel is the zero padding the shifts leave.
    const zoomed = augmentedBytes({ ...augment, randomResizedCrop: { scale: [0.3, 0.6] } }, 5);
    zoomed.forEach((image) =>
      image.forEach((row) => row.forEach((v) => expect(v).toBeGreaterThan(0.5))),
    );
    expect(zoomed).not.toEqual(bytesOf(0, 0, 5));
    expect(() =>
      batchAt(dataset, [0], {
        augment: { randomResizedCrop: { scale: [0, 1] } },
        epoch: 0,
        step: 0,
      }),
    ).toThrow('for options.augment.randomResizedCrop.scale but received [0,1]');
  });

  it('with colorJitter, scales each image by its own brightness after the same shifts and flips', () => {
    const shifted = augmentedBytes(augment, 2);
    const jittered = augmentedBytes({ ...augment, colorJitter: { brightness: 0.5 } }, 2);
    const factors = jittered.map((image, b) => {
      const ratios = image.flatMap((row, y) =>
        row.flatMap((v, x) => {
          const before = shifted[b]?.[y]?.[x] as number;
          return before > 0 && v < 255 ? [v / before] : [];
        }),
      );
      ratios.forEach((ratio) => expect(ratio).toBeCloseTo(ratios[0] as number, 4));
      return ratios[0] as number;
    });
    factors.forEach((factor) => {
      expect(factor).toBeGreaterThanOrEqual(0.5);
      expect(factor).toBeLessThan(1.5);
    });
    expect(new Set(factors.map((f) => f.toFixed(4))).size).toBe(factors.length);
    expect(() =>
      batchAt(dataset, [0], { augment: { colorJitter: { hue: 0.6 } }, epoch: 0, step: 0 }),
    ).toThrow('Expected a number in [0, 0.5] for options.augment.colorJitter.hue but received 0.6');
  });

  it('never flips digits by default and needs epoch and step', () => {
    expect(defaultAugmentation('mnist')).toEqual({ cropPadding: 2, horizontalFlip: false });
    expect(defaultAugmentation('cifar10')).toEqual({ cropPadding: 4, horizontalFlip: true });
    expect(defaultAugmentation('/data/my-photos')).toEqual({
      cropPadding: 2,
      horizontalFlip: false,
    });
    expect(defaultAugmentation('fashion-mnist')).toEqual({ cropPadding: 2, horizontalFlip: true });
    const flipsOff = tf.tidy(() => {
      const { pixelValues } = batchAt(dataset, indices, {
        augment: { horizontalFlip: false },
        epoch: 0,
        step: 0,
      });
      return pixelValues.arraySync();
    });
    const plain = tf.tidy(() => batchAt(dataset, indices).pixelValues.arraySync());
    expect(flipsOff).toEqual(plain);
    expect(() => batchAt(dataset, [0], { augment })).toThrow(
      'Expected options.epoch and options.step with options.augment',
    );
    expect(() => batchAt(dataset, [0], { augment: { cropPadding: 8 }, epoch: 0, step: 0 })).toThrow(
      /\[0, 8\) for options.augment.cropPadding/,
    );
  });
});

describe('epoch order', () => {
  it('is a seeded permutation per epoch, cut into batches', () => {
    const order = epochPermutation(1000, 42, 3);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(epochPermutation(1000, 42, 3)).toEqual(order);
    expect(epochPermutation(1000, 42, 4)).not.toEqual(order);
    expect(epochPermutation(1000, 43, 3)).not.toEqual(order);
    // Pinned, so a resumed run on another version still sees the same order.
    expect(Array.from(epochPermutation(10, 0, 0))).toEqual(PINNED_PERMUTATION);

    expect(stepsPerEpoch(1000, 64)).toBe(16);
    expect(stepsPerEpoch(1000, 64, true)).toBe(15);
    const batches = Array.from({ length: 16 }, (_, step) =>
      Array.from(batchIndices(order, step, 64)),
    );
    expect(batches[15]).toHaveLength(1000 - 15 * 64);
    expect(batches.flat()).toEqual(Array.from(order));
    expect(() => batchIndices(order, 16, 64)).toThrow(/\[0, 16\) for step/);
  });
});

describe('subset', () => {
  const dataset = synthetic(90, 2, 2, 1, (s) => s);
  // Sorted by class, as the package datasets are: 30 of each.
  const sorted: Dataset = {
    ...dataset,
    labels: Uint8Array.from({ length: 90 }, (_, i) => Math.floor(i / 30)),
  };

  it('draws a class-stratified, seeded subset by count, in dataset order', () => {
    const small = subset(sorted, 9);
    expect(small.count).toBe(9);
    expect(classCounts(small)).toEqual([3, 3, 3]);
    expect(subset(sorted, 9).images).toEqual(small.images);
    expect(subset(sorted, 9, { seed: 1 }).images).not.toEqual(small.images);
    const order = Array.from(small.images.filter((_, i) => i % 4 === 0));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(() => subset(sorted, 91)).toThrow(/\[0, 90\] for the number of samples/);
  });

  it('takes exactly the given indices, in order', () => {
    const picked = subset(sorted, [5, 80, 31]);
    expect(Array.from(picked.labels)).toEqual([0, 2, 1]);
    expect(Array.from(picked.images.filter((_, i) => i % 4 === 0))).toEqual([5, 80, 31]);
    expect(() => subset(sorted, [90])).toThrow(/\[0, 90\) for indices\[0\]/);
  });
});

const PINNED_PERMUTATION = [4, 1, 8, 7, 6, 9, 2, 3, 0, 5];
