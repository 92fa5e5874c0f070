/**
 * torchvision's `ColorJitter` on one HWC image of values in [0, 255]: brightness, contrast,
 * saturation and hue, each with a factor drawn uniformly per image, applied in a random order, the
 * result clamped to [0, 255] after each (the float-image semantics: no rounding in between).
 * Saturation and hue leave a one-channel image as it is, as torchvision does.
 */
import type { SplitMix64 } from '../rng';

export interface ColorJitterOptions {
  /** Brightness factor drawn from [max(0, 1 − b), 1 + b]. */
  brightness?: number;
  /** Contrast factor drawn from [max(0, 1 − c), 1 + c]. */
  contrast?: number;
  /** Saturation factor drawn from [max(0, 1 − s), 1 + s]. */
  saturation?: number;
  /** Hue shift drawn from [−h, h], in turns; h ≤ 0.5. */
  hue?: number;
}

/** One image's draws: the factors (1, 1, 1, 0 when off) and the order of the four adjustments. */
export interface Jitter {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  /** A permutation of 0 (brightness), 1 (contrast), 2 (saturation), 3 (hue). */
  order: readonly number[];
}

/** Checks the four amounts, naming the wrong one. */
export function checkColorJitter(options: ColorJitterOptions, name: string): void {
  for (const field of ['brightness', 'contrast', 'saturation', 'hue'] as const) {
    const value = options[field] ?? 0;
    const limit = field === 'hue' ? 0.5 : Infinity;
    if (!(Number.isFinite(value) && value >= 0 && value <= limit)) {
      throw new RangeError(
        `Expected a number in [0, ${limit === Infinity ? '∞' : limit}] for ${name}.${field} but received ${value}`,
      );
    }
  }
}

/** Seven draws per image whatever the options, so turning one adjustment off moves no other. */
export function sampleJitter(stream: SplitMix64, options: ColorJitterOptions): Jitter {
  const order = [0, 1, 2, 3];
  for (let i = 3; i >= 1; i--) {
    const j = stream.nextBelow(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const factor = (amount = 0): number => {
    const low = Math.max(0, 1 - amount);
    return low + (1 + amount - low) * stream.nextUniform();
  };
  const brightness = factor(options.brightness);
  const contrast = factor(options.contrast);
  const saturation = factor(options.saturation);
  const hueAmount = options.hue ?? 0;
  const hue = -hueAmount + 2 * hueAmount * stream.nextUniform();
  return { brightness, contrast, saturation, hue, order };
}

const clamp255 = (value: number): number => (value < 0 ? 0 : value > 255 ? 255 : value);

/** ITU-R 601-2 luma, as torchvision's `rgb_to_grayscale`. */
const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** Applies `jitter` to the `channels`-channel image of `pixels` values at `offset`, in place. */
export function jitterInPlace(
  image: Float32Array,
  offset: number,
  pixels: number,
  channels: number,
  jitter: Jitter,
): void {
  const end = offset + pixels * channels;
  for (const adjustment of jitter.order) {
    if (adjustment === 0 && jitter.brightness !== 1) {
      for (let i = offset; i < end; i++)
        image[i] = clamp255((image[i] as number) * jitter.brightness);
    } else if (adjustment === 1 && jitter.contrast !== 1) {
      // Blend with the image's mean grey.
      let sum = 0;
      for (let i = offset; i < end; i += channels) sum += grey(image, i, channels);
      const shift = (1 - jitter.contrast) * (sum / pixels);
      for (let i = offset; i < end; i++) {
        image[i] = clamp255(jitter.contrast * (image[i] as number) + shift);
      }
    } else if (adjustment === 2 && jitter.saturation !== 1 && channels === 3) {
      // Blend each pixel with its own grey.
      const factor = jitter.saturation;
      for (let i = offset; i < end; i += 3) {
        const shift = (1 - factor) * grey(image, i, 3);
        for (let c = i; c < i + 3; c++) image[c] = clamp255(factor * (image[c] as number) + shift);
      }
    } else if (adjustment === 3 && jitter.hue !== 0 && channels === 3) {
      shiftHueInPlace(image, offset, end, jitter.hue);
    }
  }
}

function grey(image: Float32Array, i: number, channels: number): number {
  return channels === 3
    ? luma(image[i] as number, image[i + 1] as number, image[i + 2] as number)
    : (image[i] as number);
}

/** torchvision's `adjust_hue`: to HSV, h ← (h + shift) mod 1, back to RGB. V and S are kept. */
function shiftHueInPlace(image: Float32Array, offset: number, end: number, shift: number): void {
  for (let i = offset; i < end; i += 3) {
    const r = image[i] as number;
    const g = image[i + 1] as number;
    const b = image[i + 2] as number;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const chroma = max - min;
    if (chroma === 0) continue; // grey: no hue to turn
    let hue: number;
    if (max === r) hue = (g - b) / chroma;
    else if (max === g) hue = 2 + (b - r) / chroma;
    else hue = 4 + (r - g) / chroma;
    hue = (((hue / 6 + shift) % 1) + 1) % 1;
    const sector = hue * 6;
    const whole = Math.floor(sector);
    const fraction = sector - whole;
    const falling = max - chroma * fraction;
    const rising = min + chroma * fraction;
    let red = max;
    let green = min;
    let blue = min;
    switch (whole % 6) {
      case 0:
        green = rising;
        break;
      case 1:
        red = falling;
        green = max;
        break;
      case 2:
        red = min;
        green = max;
        blue = rising;
        break;
      case 3:
        red = min;
        green = falling;
        blue = max;
        break;
      case 4:
        red = rising;
        blue = max;
        break;
      default:
        blue = falling;
    }
    image[i] = red;
    image[i + 1] = green;
    image[i + 2] = blue;
  }
}
