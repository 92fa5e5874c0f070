/**
 * RandomResizedCrop: the box sampler against torchvision's rules (bounds, area, ratio, the centre
 * fallback) and the resize against tfjs's own half-pixel bilinear resize of the cropped box.
 */
import * as tf from '@tensorflow/tfjs';

import { dataStream, DataStream } from '../../src/data/dataRng';
import { resizeCropInto, sampleCropBox, type CropBox } from '../../src/data/randomResizedCrop';

describe('sampleCropBox', () => {
  it('keeps boxes inside the image, near the asked share of the area and aspect ratio', () => {
    const stream = dataStream(3, DataStream.resizedCrop, 0, 0);
    const [height, width] = [96, 128];
    const shares: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const box = sampleCropBox(stream, height, width, { scale: [0.25, 0.5] });
      expect(box.top).toBeGreaterThanOrEqual(0);
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.top + box.height).toBeLessThanOrEqual(height);
      expect(box.left + box.width).toBeLessThanOrEqual(width);
      // Whole-pixel rounding of each side moves the share and ratio by at most a pixel's worth.
      const share = (box.height * box.width) / (height * width);
      expect(share).toBeGreaterThan(0.25 - 0.02);
      expect(share).toBeLessThan(0.5 + 0.02);
      expect(box.width / box.height).toBeGreaterThan(0.75 - 0.03);
      expect(box.width / box.height).toBeLessThan(4 / 3 + 0.03);
      shares.push(share);
    }
    // Uniform in area: the mean share is the middle of the range.
    const mean = shares.reduce((a, b) => a + b) / shares.length;
    expect(mean).toBeCloseTo(0.375, 2);
  });

  it('reaches every position: the corners included', () => {
    const stream = dataStream(0, DataStream.resizedCrop, 0, 0);
    const corners = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const box = sampleCropBox(stream, 8, 8, { scale: [0.25, 0.25], ratio: [1, 1] });
      expect([box.height, box.width]).toEqual([4, 4]);
      if ((box.top === 0 || box.top === 4) && (box.left === 0 || box.left === 4)) {
        corners.add(`${box.top},${box.left}`);
      }
    }
    expect(corners.size).toBe(4);
  });

  it('falls back to a centre crop of the clamped ratio when ten tries miss', () => {
    const stream = dataStream(0, DataStream.resizedCrop, 0, 0);
    // A 2:1 box of the whole area never fits a square: width round(√(100·2)) = 14 > 10.
    expect(sampleCropBox(stream, 10, 10, { scale: [1, 1], ratio: [2, 2] })).toEqual({
      top: 2,
      left: 0,
      height: 5,
      width: 10,
    });
    // A 1:1 box of the whole area never fits 10 × 20; the image is wider than 4/3.
    expect(sampleCropBox(stream, 10, 20, { scale: [1, 1], ratio: [1, 1] })).toEqual({
      top: 0,
      left: 5,
      height: 10,
      width: 10,
    });
    // Python's round: 12.5 → 12 (half to even), so the box is 10 × 12, left (20 − 12) / 2 = 4.
    expect(sampleCropBox(stream, 10, 20, { scale: [1, 1], ratio: [1.25, 1.25] })).toEqual({
      top: 0,
      left: 4,
      height: 10,
      width: 12,
    });
  });
});

describe('resizeCropInto', () => {
  const [height, width] = [7, 9];

  function randomImage(channels: number, seed: number): Float32Array {
    const stream = dataStream(seed, DataStream.synthetic, 0, 0);
    return Float32Array.from({ length: height * width * channels }, () => stream.nextBelow(256));
  }

  /** tfjs: slice the box, resize it with half-pixel centres, mirror. */
  function expected(image: Float32Array, channels: number, box: CropBox, flip: boolean): number[] {
    return tf.tidy(() => {
      const crop = tf
        .tensor4d(image, [1, height, width, channels])
        .slice([0, box.top, box.left, 0], [1, box.height, box.width, channels]);
      const resized = tf.image.resizeBilinear(crop, [height, width], false, true);
      return Array.from((flip ? tf.reverse(resized, 2) : resized).dataSync());
    });
  }

  const boxes: CropBox[] = [
    { top: 0, left: 0, height: 7, width: 9 },
    { top: 1, left: 2, height: 3, width: 4 },
    { top: 4, left: 0, height: 3, width: 9 },
    { top: 2, left: 6, height: 5, width: 3 },
    { top: 3, left: 3, height: 1, width: 1 },
  ];

  for (const channels of [1, 3]) {
    for (const flip of [false, true]) {
      it(`equals tf.image.resizeBilinear of the box (${channels} channel(s)${flip ? ', mirrored' : ''})`, () => {
        const image = randomImage(channels, channels);
        for (const box of boxes) {
          const out = new Float32Array(2 * height * width * channels).fill(-1);
          const offset = height * width * channels;
          resizeCropInto(image, height, width, channels, box, flip, out, offset);
          expect(Array.from(out.subarray(0, offset)).every((v) => v === -1)).toBe(true);
          const got = Array.from(out.subarray(offset));
          const want = expected(image, channels, box, flip);
          got.forEach((value, i) => expect(value).toBeCloseTo(want[i] as number, 3));
        }
      });
    }
  }

  it('copies the image exactly for the whole-image box', () => {
    const image = randomImage(3, 9);
    const out = new Float32Array(image.length);
    resizeCropInto(image, height, width, 3, boxes[0] as CropBox, false, out, 0);
    expect(Array.from(out)).toEqual(Array.from(image));
  });
});
