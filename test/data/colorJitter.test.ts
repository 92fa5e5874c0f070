/**
 * ColorJitter: each adjustment on hand-worked pixels (torchvision's formulas written out), the hue
 * turn against its geometry (pure colours move between the RGB cube's corners, V and S kept), and
 * the draws.
 */
import { jitterInPlace, sampleJitter, type Jitter } from '../../src/data/colorJitter';
import { dataStream, DataStream } from '../../src/data/dataRng';

const only = (fields: Partial<Jitter>): Jitter => ({
  brightness: 1,
  contrast: 1,
  saturation: 1,
  hue: 0,
  order: [0, 1, 2, 3],
  ...fields,
});

function jittered(pixels: number[], channels: number, jitter: Jitter): number[] {
  const image = Float32Array.from(pixels);
  jitterInPlace(image, 0, pixels.length / channels, channels, jitter);
  return Array.from(image);
}

function expectClose(got: number[], want: number[]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((value, i) => expect(value).toBeCloseTo(want[i] as number, 3));
}

describe('jitterInPlace', () => {
  it('brightness multiplies and clamps to 255', () => {
    expectClose(jittered([0, 100, 200], 1, only({ brightness: 1.5 })), [0, 150, 255]);
  });

  it('contrast blends with the mean grey of the whole image', () => {
    // Two RGB pixels; luma 0.299·r + 0.587·g + 0.114·b: 100 and 0.299·200 + 0.587·50 + 0.114·10.
    const pixels = [100, 100, 100, 200, 50, 10];
    const mean = (100 + (0.299 * 200 + 0.587 * 50 + 0.114 * 10)) / 2;
    const want = pixels.map((v) => Math.min(255, Math.max(0, 0.5 * v + 0.5 * mean)));
    expectClose(jittered(pixels, 3, only({ contrast: 0.5 })), want);
    // Grey images: the mean of the values.
    expectClose(jittered([0, 100, 200], 1, only({ contrast: 2 })), [0, 100, 255]);
  });

  it('saturation blends each pixel with its own grey; 0 makes it grey, and grey images are left alone', () => {
    const grey = 0.299 * 200 + 0.587 * 50 + 0.114 * 10;
    expectClose(jittered([200, 50, 10], 3, only({ saturation: 0 })), [grey, grey, grey]);
    expectClose(jittered([200, 50, 10], 3, only({ saturation: 2 })), [
      Math.min(255, 2 * 200 - grey),
      Math.max(0, 2 * 50 - grey),
      Math.max(0, 2 * 10 - grey),
    ]);
    expect(jittered([0, 100, 200], 1, only({ saturation: 0 }))).toEqual([0, 100, 200]);
  });

  it('hue turns pure colours between the corners of the cube and keeps each pixel’s max and min', () => {
    expectClose(jittered([255, 0, 0], 3, only({ hue: 1 / 3 })), [0, 255, 0]);
    expectClose(jittered([255, 0, 0], 3, only({ hue: -1 / 3 })), [0, 0, 255]);
    expectClose(jittered([255, 255, 0], 3, only({ hue: 0.5 })), [0, 0, 255]);
    // Orange (hue 128/255 / 6) turned half way round: sector 3, 0.502 of the way to blue.
    expectClose(jittered([255, 128, 0], 3, only({ hue: 0.5 })), [0, 127, 255]);
    // Greys have no hue.
    expect(jittered([90, 90, 90], 3, only({ hue: 0.25 }))).toEqual([90, 90, 90]);
    const stream = dataStream(1, DataStream.synthetic, 0, 0);
    for (let i = 0; i < 200; i++) {
      const pixel = [stream.nextBelow(256), stream.nextBelow(256), stream.nextBelow(256)];
      const shift = stream.nextUniform() - 0.5;
      const turned = jittered(pixel, 3, only({ hue: shift }));
      expect(Math.max(...turned)).toBeCloseTo(Math.max(...pixel), 3);
      expect(Math.min(...turned)).toBeCloseTo(Math.min(...pixel), 3);
      expectClose(jittered(turned, 3, only({ hue: -shift })), pixel);
    }
  });

  it('applies the adjustments in the drawn order', () => {
    // Brightness then contrast differs from contrast then brightness once clamping is involved.
    const pixels = [0, 200];
    const first = jittered(
      pixels,
      1,
      only({ brightness: 1.5, contrast: 0.5, order: [0, 1, 2, 3] }),
    );
    const second = jittered(
      pixels,
      1,
      only({ brightness: 1.5, contrast: 0.5, order: [1, 0, 2, 3] }),
    );
    // 0, 200 → 0, 255 (mean 127.5) → 63.75, 191.25.
    expectClose(first, [63.75, 191.25]);
    // 0, 200 (mean 100) → 50, 150 → 75, 225.
    expectClose(second, [75, 225]);
  });
});

describe('sampleJitter', () => {
  it('draws factors in their ranges, every order, and the same number of draws whatever the options', () => {
    const options = { brightness: 0.4, contrast: 1.5, saturation: 0.2, hue: 0.1 };
    const stream = dataStream(2, DataStream.colorJitter, 0, 0);
    const orders = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const jitter = sampleJitter(stream, options);
      expect(jitter.brightness).toBeGreaterThanOrEqual(0.6);
      expect(jitter.brightness).toBeLessThan(1.4);
      expect(jitter.contrast).toBeGreaterThanOrEqual(0);
      expect(jitter.contrast).toBeLessThan(2.5);
      expect(jitter.saturation).toBeGreaterThanOrEqual(0.8);
      expect(jitter.hue).toBeGreaterThanOrEqual(-0.1);
      expect(jitter.hue).toBeLessThan(0.1);
      expect([...jitter.order].sort()).toEqual([0, 1, 2, 3]);
      orders.add(jitter.order.join(''));
    }
    expect(orders.size).toBe(24);

    const a = dataStream(5, DataStream.colorJitter, 0, 0);
    const b = dataStream(5, DataStream.colorJitter, 0, 0);
    expect(sampleJitter(a, { brightness: 0.4 }).order).toEqual(sampleJitter(b, options).order);
    expect(a.nextUniform()).toBe(b.nextUniform());
    expect(sampleJitter(a, {})).toMatchObject({
      brightness: 1,
      contrast: 1,
      saturation: 1,
      hue: 0,
    });
  });
});
