/**
 * Turns samples into the input a Hugging Face ViT expects: `pixel_values`, float32 [B, C, H, W],
 * each channel `(x/255 − mean)/std` (the HF ViT image processors' defaults are mean = std = 0.5).
 *
 * Augmentation (random crop with zero padding or torchvision's RandomResizedCrop, horizontal flip,
 * colour jitter) runs on the source images before resizing, so padding is in source pixels (2 px on
 * a 28×28 digit, 4 px on a 32×32 CIFAR image, as usual) and costs nothing at 224×224. Its
 * randomness is a pure function of (seed, epoch, step): a resumed run sees the same batches.
 */
import * as tf from '@tensorflow/tfjs';

import {
  checkColorJitter,
  jitterInPlace,
  sampleJitter,
  type ColorJitterOptions,
} from './colorJitter';
import { imageSize, type Dataset } from './dataset';
import { dataStream, DataStream } from './dataRng';
import {
  checkRange,
  resizeCropInto,
  sampleCropBox,
  type RandomResizedCropOptions,
} from './randomResizedCrop';

export interface AugmentOptions {
  /** Zero-pad each side by this many pixels and crop back to the original size at a random offset; 0 = off. */
  cropPadding?: number;
  /**
   * torchvision's RandomResizedCrop back to the source's size, instead of the padded crop: a box of
   * a random share of the area and aspect ratio, stretched to the whole image.
   */
  randomResizedCrop?: RandomResizedCropOptions;
  /** Mirror left–right with probability 1/2. */
  horizontalFlip?: boolean;
  /** Random brightness, contrast, saturation and hue, after the crop and flip. */
  colorJitter?: ColorJitterOptions;
}

export interface BatchOptions {
  /** Output [height, width] (a number: square). Default: the dataset's size. */
  imageSize?: number | readonly [number, number];
  /** Channels the model wants: the dataset's, or 3 for a grayscale dataset (repeated). */
  channels?: number;
  /** Per-channel mean, one value or one per output channel; default 0.5. */
  mean?: number | readonly number[];
  /** Per-channel standard deviation, one value or one per output channel; default 0.5. */
  std?: number | readonly number[];
  /** Training augmentation; default none. See {@link defaultAugmentation}. */
  augment?: AugmentOptions | false;
  /** Seeds the augmentation; default 0. */
  seed?: number;
  /** Required with `augment`: with `step`, selects the augmentation stream. */
  epoch?: number;
  /** Required with `augment`. */
  step?: number;
}

export interface Batch {
  /** float32 [B, C, H, W]. */
  pixelValues: tf.Tensor4D;
  /** int32 [B] class indices. */
  labels: tf.Tensor1D;
}

/**
 * The augmentation we train each dataset with: small shifts everywhere; flips only where a mirror
 * image is still the same class (not for digits: a mirrored 2 is no 2). An image folder could hold
 * either kind, so it gets shifts only.
 */
export function defaultAugmentation(name: string): AugmentOptions {
  if (name === 'fashion-mnist') return { cropPadding: 2, horizontalFlip: true };
  if (name === 'cifar10' || name === 'cifar100') return { cropPadding: 4, horizontalFlip: true };
  return { cropPadding: 2, horizontalFlip: false };
}

/**
 * The batch of the samples at `indices` (in that order). The caller disposes both tensors.
 * Resizing is bilinear with half-pixel centres (PIL's and `torch`'s `align_corners=False`
 * geometry), without PIL's antialiasing when shrinking.
 */
export function batchAt(
  dataset: Dataset,
  indices: ArrayLike<number>,
  options: BatchOptions = {},
): Batch {
  const { height, width, channels } = dataset;
  const [outHeight, outWidth] = outputSize(options.imageSize, height, width);
  const outChannels = options.channels ?? channels;
  if (outChannels !== channels && !(channels === 1 && outChannels === 3)) {
    throw new RangeError(
      `Expected ${channels === 1 ? '1 or 3' : channels} for options.channels (the dataset has ${channels}) but received ${outChannels}`,
    );
  }
  const mean = perChannel(options.mean ?? 0.5, outChannels, 'options.mean');
  const std = perChannel(options.std ?? 0.5, outChannels, 'options.std');
  std.forEach((value, channel) => {
    if (!(value > 0)) {
      throw new RangeError(
        `Expected a positive number for options.std[${channel}] but received ${value}`,
      );
    }
  });
  if (dataset.images.length !== dataset.count * imageSize(dataset)) {
    // A hand-built dataset with the wrong byte count would otherwise read past an image as NaN.
    throw new RangeError(
      `Expected ${dataset.count * imageSize(dataset)} bytes (count·height·width·channels) for dataset.images but received ${dataset.images.length}`,
    );
  }
  const batchSize = indices.length;
  if (batchSize === 0)
    throw new RangeError('Expected at least one index for indices but received none');

  const pixels = gatherPixels(dataset, indices, options);
  const labels = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) labels[i] = dataset.labels[indices[i] as number] as number;

  return tf.tidy(() => {
    let images: tf.Tensor4D = tf.tensor4d(pixels, [batchSize, height, width, channels], 'float32');
    if (outHeight !== height || outWidth !== width) {
      images = tf.image.resizeBilinear(images, [outHeight, outWidth], false, true);
    }
    if (outChannels !== channels) images = tf.tile(images, [1, 1, 1, outChannels]);
    // (x/255 − mean)/std as one multiply-add per element.
    const scale = tf.tensor1d(std.map((s) => 1 / (255 * s)));
    const offset = tf.tensor1d(mean.map((m, channel) => -m / (std[channel] as number)));
    const normalised = images.mul(scale).add(offset) as tf.Tensor4D;
    return {
      pixelValues: normalised.transpose<tf.Tensor4D>([0, 3, 1, 2]),
      labels: tf.tensor1d(labels, 'int32'),
    };
  });
}

/** The batch's source pixels as float32 NHWC, cropped, flipped and jittered when augmenting. */
function gatherPixels(
  dataset: Dataset,
  indices: ArrayLike<number>,
  options: BatchOptions,
): Float32Array {
  const { height, width, channels } = dataset;
  const size = imageSize(dataset);
  const out = new Float32Array(indices.length * size);
  const augment = options.augment === false ? undefined : options.augment;
  const padding = augment?.cropPadding ?? 0;
  if (!Number.isInteger(padding) || padding < 0 || padding >= Math.min(height, width)) {
    throw new RangeError(
      `Expected an integer in [0, ${Math.min(height, width)}) for options.augment.cropPadding but received ${padding}`,
    );
  }
  const resizedCrop = augment?.randomResizedCrop;
  if (resizedCrop !== undefined) {
    checkRange(resizedCrop.scale, 'options.augment.randomResizedCrop.scale', {
      above: 0,
      atMost: 1,
    });
    if (resizedCrop.ratio !== undefined) {
      checkRange(resizedCrop.ratio, 'options.augment.randomResizedCrop.ratio', { above: 0 });
    }
  }
  const colorJitter = augment?.colorJitter;
  if (colorJitter !== undefined) checkColorJitter(colorJitter, 'options.augment.colorJitter');
  let stream: ReturnType<typeof dataStream> | undefined;
  let cropStream: ReturnType<typeof dataStream> | undefined;
  let jitterStream: ReturnType<typeof dataStream> | undefined;
  if (augment !== undefined) {
    if (options.epoch === undefined || options.step === undefined) {
      // Defaulting them would give every step the same "random" crops.
      throw new TypeError(
        'Expected options.epoch and options.step with options.augment but received none',
      );
    }
    const seed = options.seed ?? 0;
    stream = dataStream(seed, DataStream.augment, options.epoch, options.step);
    // Their own streams: turning them on leaves the shifts and flips where they were.
    if (resizedCrop)
      cropStream = dataStream(seed, DataStream.resizedCrop, options.epoch, options.step);
    if (colorJitter)
      jitterStream = dataStream(seed, DataStream.colorJitter, options.epoch, options.step);
  }
  for (let b = 0; b < indices.length; b++) {
    const index = indices[b] as number;
    if (!Number.isInteger(index) || index < 0 || index >= dataset.count) {
      throw new RangeError(
        `Expected a sample index in [0, ${dataset.count}) for indices[${b}] but received ${index}`,
      );
    }
    const source = dataset.images.subarray(index * size, (index + 1) * size);
    const target = b * size;
    let shiftY = 0;
    let shiftX = 0;
    let flip = false;
    if (stream !== undefined) {
      // Three draws per sample whatever the options, so turning flips on or off leaves the crops
      // of later samples where they were.
      shiftY = stream.nextBelow(2 * padding + 1) - padding;
      shiftX = stream.nextBelow(2 * padding + 1) - padding;
      flip = stream.nextBelow(2) === 1 && augment?.horizontalFlip === true;
    }
    if (cropStream !== undefined && resizedCrop !== undefined) {
      const box = sampleCropBox(cropStream, height, width, resizedCrop);
      resizeCropInto(source, height, width, channels, box, flip, out, target);
    } else {
      copyShiftedInto(source, height, width, channels, shiftY, shiftX, flip, out, target);
    }
    if (jitterStream !== undefined && colorJitter !== undefined) {
      jitterInPlace(out, target, height * width, channels, sampleJitter(jitterStream, colorJitter));
    }
  }
  return out;
}

/** The image shifted by (shiftY, shiftX) with zeros where it moved away from, then mirrored when `flip`. */
function copyShiftedInto(
  source: ArrayLike<number>,
  height: number,
  width: number,
  channels: number,
  shiftY: number,
  shiftX: number,
  flip: boolean,
  out: Float32Array,
  target: number,
): void {
  const rowBytes = width * channels;
  for (let y = 0; y < height; y++) {
    const sourceY = y + shiftY;
    if (sourceY < 0 || sourceY >= height) continue; // padding: stays 0
    for (let x = 0; x < width; x++) {
      const sourceX = (flip ? width - 1 - x : x) + shiftX;
      if (sourceX < 0 || sourceX >= width) continue;
      const from = sourceY * rowBytes + sourceX * channels;
      const to = target + y * rowBytes + x * channels;
      for (let c = 0; c < channels; c++) out[to + c] = source[from + c] as number;
    }
  }
}

function outputSize(
  requested: BatchOptions['imageSize'],
  height: number,
  width: number,
): [number, number] {
  if (requested === undefined) return [height, width];
  const size: readonly number[] =
    typeof requested === 'number' ? [requested, requested] : requested;
  if (size.length !== 2 || !size.every((value) => Number.isInteger(value) && value >= 1)) {
    throw new RangeError(
      `Expected a positive integer or [height, width] for options.imageSize but received ${JSON.stringify(requested)}`,
    );
  }
  return [size[0] as number, size[1] as number];
}

function perChannel(value: number | readonly number[], channels: number, name: string): number[] {
  const values = typeof value === 'number' ? new Array<number>(channels).fill(value) : [...value];
  if (values.length !== channels || !values.every((v) => Number.isFinite(v))) {
    throw new RangeError(
      `Expected a number or ${channels} numbers for ${name} but received ${JSON.stringify(value)}`,
    );
  }
  return values;
}
