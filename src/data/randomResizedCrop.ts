/**
 * torchvision's `RandomResizedCrop`: a random box of a random share of the image's area and a
 * random aspect ratio, resized back to a fixed size. The box follows `get_params` exactly (ten
 * tries, then a centre crop with the ratio clamped); the resize is bilinear with half-pixel centres
 * and edge clamping (PIL's, torch's and `tf.image.resizeBilinear(…, halfPixelCenters)`'s geometry).
 * We resize to the source's own size, so a box is never shrunk and antialiasing never applies.
 */
import type { SplitMix64 } from '../rng';

export interface RandomResizedCropOptions {
  /** Range of the box's share of the image's area; torchvision's default is [0.08, 1]. */
  scale: readonly [number, number];
  /** Range of the box's width / height, sampled log-uniformly; default [3/4, 4/3]. */
  ratio?: readonly [number, number];
}

export const DEFAULT_CROP_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

/** A box of the source in whole pixels. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python's `round`: halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/** Checks a [min, max] range of positive numbers, naming `name` in the error. */
export function checkRange(
  range: readonly number[],
  name: string,
  limits: { above: number; atMost?: number },
): void {
  const [low, high] = range;
  const inLimits = (value: number | undefined): value is number =>
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value > limits.above &&
    (limits.atMost === undefined || value <= limits.atMost);
  if (range.length !== 2 || !inLimits(low) || !inLimits(high) || low > high) {
    const bounds = `${limits.above} < min ≤ max${limits.atMost === undefined ? '' : ` ≤ ${limits.atMost}`}`;
    throw new RangeError(
      `Expected [min, max] with ${bounds} for ${name} but received ${JSON.stringify(range)}`,
    );
  }
}

/** torchvision's `RandomResizedCrop.get_params` for an image of `height` × `width`. */
export function sampleCropBox(
  stream: SplitMix64,
  height: number,
  width: number,
  options: RandomResizedCropOptions,
): CropBox {
  const [minScale, maxScale] = options.scale;
  const [minRatio, maxRatio] = options.ratio ?? DEFAULT_CROP_RATIO;
  const area = height * width;
  const logMin = Math.log(minRatio);
  const logMax = Math.log(maxRatio);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (minScale + (maxScale - minScale) * stream.nextUniform());
    const aspect = Math.exp(logMin + (logMax - logMin) * stream.nextUniform());
    const boxWidth = roundHalfEven(Math.sqrt(targetArea * aspect));
    const boxHeight = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (boxWidth > 0 && boxWidth <= width && boxHeight > 0 && boxHeight <= height) {
      return {
        top: stream.nextBelow(height - boxHeight + 1),
        left: stream.nextBelow(width - boxWidth + 1),
        height: boxHeight,
        width: boxWidth,
      };
    }
  }
  const sourceRatio = width / height;
  let boxWidth = width;
  let boxHeight = height;
  if (sourceRatio < minRatio) boxHeight = roundHalfEven(width / minRatio);
  else if (sourceRatio > maxRatio) boxWidth = roundHalfEven(height * maxRatio);
  return {
    top: Math.floor((height - boxHeight) / 2),
    left: Math.floor((width - boxWidth) / 2),
    height: boxHeight,
    width: boxWidth,
  };
}

/**
 * Writes `box` of the HWC `source` (height × width × channels), resized bilinearly to height ×
 * width and mirrored left–right when `flip`, into `out` at `outOffset`.
 */
export function resizeCropInto(
  source: ArrayLike<number>,
  height: number,
  width: number,
  channels: number,
  box: CropBox,
  flip: boolean,
  out: Float32Array,
  outOffset: number,
): void {
  const scaleY = box.height / height;
  const scaleX = box.width / width;
  const rowLength = width * channels;
  // Each output column's two source columns and weight, shared by every row.
  const column0 = new Int32Array(width);
  const column1 = new Int32Array(width);
  const columnWeight = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const sourceX = (x + 0.5) * scaleX - 0.5;
    const floor = Math.floor(sourceX);
    const target = flip ? width - 1 - x : x;
    column0[target] = (box.left + Math.max(floor, 0)) * channels;
    column1[target] = (box.left + Math.min(floor + 1, box.width - 1)) * channels;
    columnWeight[target] = sourceX < 0 ? 0 : sourceX - floor;
  }
  for (let y = 0; y < height; y++) {
    const sourceY = (y + 0.5) * scaleY - 0.5;
    const floor = Math.floor(sourceY);
    const row0 = (box.top + Math.max(floor, 0)) * rowLength;
    const row1 = (box.top + Math.min(floor + 1, box.height - 1)) * rowLength;
    const rowWeight = sourceY < 0 ? 0 : sourceY - floor;
    const outRow = outOffset + y * rowLength;
    for (let x = 0; x < width; x++) {
      const a = column0[x] as number;
      const b = column1[x] as number;
      const weight = columnWeight[x] as number;
      for (let c = 0; c < channels; c++) {
        const top =
          (source[row0 + a + c] as number) +
          ((source[row0 + b + c] as number) - (source[row0 + a + c] as number)) * weight;
        const bottom =
          (source[row1 + a + c] as number) +
          ((source[row1 + b + c] as number) - (source[row1 + a + c] as number)) * weight;
        out[outRow + x * channels + c] = top + (bottom - top) * rowWeight;
      }
    }
  }
}
