/**
 * Resizing 8-bit HWC images with Pillow's BILINEAR resampling (`Image.resize(size, BILINEAR)`, the
 * filter Hugging Face's ViTImageProcessor uses): separable, a triangle filter on half-pixel centres
 * that widens with the shrink factor, so shrinking averages every source pixel instead of sampling
 * four. Enlarging is ordinary bilinear interpolation (`align_corners=False`). Both passes accumulate
 * in float64 and round once at the end (Pillow rounds between them: results differ by at most 1).
 */

interface Taps {
  /** First source index of each output index. */
  first: Int32Array;
  /** Number of source indices of each output index. */
  count: Int32Array;
  /** Normalised weights, `width` per output index. */
  weights: Float64Array;
  width: number;
}

function triangle(x: number): number {
  const distance = Math.abs(x);
  return distance < 1 ? 1 - distance : 0;
}

/** The source taps of every output index along one axis of `inSize` → `outSize`. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support is 1
  const width = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * width);
  for (let x = 0; x < outSize; x++) {
    const center = (x + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const weight = triangle((j - center + 0.5) / filterScale);
      weights[x * width + j - lo] = weight;
      total += weight;
    }
    for (let j = 0; j < hi - lo; j++)
      weights[x * width + j] = (weights[x * width + j] as number) / total;
    first[x] = lo;
    count[x] = hi - lo;
  }
  return { first, count, weights, width };
}

/** `pixels` (height · width · channels bytes, HWC) resized to outHeight × outWidth. */
export function resizeImage(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Uint8Array {
  if (pixels.length !== height * width * channels) {
    throw new RangeError(
      `Expected ${height}·${width}·${channels} = ${height * width * channels} bytes but received ${pixels.length}`,
    );
  }
  if (height === outHeight && width === outWidth) return pixels;
  const columns = taps(width, outWidth);
  const rows = taps(height, outHeight);
  // Horizontal pass: [height, outWidth, channels] in float64.
  const wide = new Float64Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const lo = columns.first[x] as number;
      const n = columns.count[x] as number;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let j = 0; j < n; j++) {
          sum +=
            (columns.weights[x * columns.width + j] as number) *
            (pixels[((y * width + lo + j) * channels + c) as number] as number);
        }
        wide[(y * outWidth + x) * channels + c] = sum;
      }
    }
  }
  // Vertical pass, rounded and clamped to bytes.
  const out = new Uint8Array(outHeight * outWidth * channels);
  for (let y = 0; y < outHeight; y++) {
    const lo = rows.first[y] as number;
    const n = rows.count[y] as number;
    for (let i = 0; i < outWidth * channels; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        sum +=
          (rows.weights[y * rows.width + j] as number) *
          (wide[(lo + j) * outWidth * channels + i] as number);
      }
      out[y * outWidth * channels + i] = Math.min(255, Math.max(0, Math.round(sum)));
    }
  }
  return out;
}
