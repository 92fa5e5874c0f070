/**
 * Pillow-style BILINEAR resizing against hand-worked cases and a direct (non-separable) evaluation of
 * the same triangle-filter definition.
 */
import { resizeImage } from '../../../src/data/images/resizeImage';

/** out(y, x) = Σ_ij t_y(i) t_x(j) in(i, j) / (Σ t_y · Σ t_x), t a triangle of width max(scale, 1). */
function directResize(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  const weight = (index: number, outIndex: number, inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const stretch = Math.max(scale, 1);
    return Math.max(0, 1 - Math.abs((index + 0.5 - (outIndex + 0.5) * scale) / stretch));
  };
  const out = new Uint8Array(outHeight * outWidth * channels);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        let total = 0;
        for (let i = 0; i < height; i++) {
          for (let j = 0; j < width; j++) {
            const w = weight(i, y, height, outHeight) * weight(j, x, width, outWidth);
            sum += w * (pixels[(i * width + j) * channels + c] as number);
            total += w;
          }
        }
        out[(y * outWidth + x) * channels + c] = Math.round(sum / total);
      }
    }
  }
  return out;
}

test('hand-worked cases: a 2×2 shrinks to its mean; enlarging interpolates on half-pixel centres', () => {
  expect(Array.from(resizeImage(Uint8Array.from([0, 100, 50, 250]), 2, 2, 1, 1, 1))).toEqual([100]);
  expect(Array.from(resizeImage(Uint8Array.from([0, 100]), 1, 2, 1, 1, 4))).toEqual([
    0, 25, 75, 100,
  ]);
  // A 4-wide row shrunk to 2: the triangle spans 3 pixels with weights 3/7, 3/7, 1/7.
  expect(Array.from(resizeImage(Uint8Array.from([70, 0, 0, 0]), 1, 4, 1, 1, 2))).toEqual([30, 0]);
});

test('the same size returns the pixels; a constant image stays constant at any size', () => {
  const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
  expect(resizeImage(pixels, 2, 2, 3, 2, 2)).toBe(pixels);
  const grey = new Uint8Array(7 * 5 * 3).fill(77);
  for (const [h, w] of [
    [3, 11],
    [1, 1],
    [20, 2],
  ] as const) {
    expect(resizeImage(grey, 7, 5, 3, h, w).every((v) => v === 77)).toBe(true);
  }
});

test.each([
  [28, 28, 1, 14, 9],
  [9, 13, 3, 28, 28],
  [30, 17, 3, 7, 40],
])('%i×%i×%i → %i×%i matches the direct definition within one level', (h, w, c, oh, ow) => {
  let state = 12345;
  const pixels = Uint8Array.from({ length: h * w * c }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % 256;
  });
  const fast = resizeImage(pixels, h, w, c, oh, ow);
  const direct = directResize(pixels, h, w, c, oh, ow);
  expect(fast).toHaveLength(oh * ow * c);
  let worst = 0;
  fast.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (direct[i] as number)))));
  expect(worst).toBeLessThanOrEqual(1);
});

test('a wrong byte count is refused', () => {
  expect(() => resizeImage(new Uint8Array(5), 2, 2, 1, 1, 1)).toThrow(
    /2·2·1 = 4 bytes but received 5/,
  );
});
