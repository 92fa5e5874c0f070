/**
 * PNG and JPEG files to 8-bit pixels (pure JavaScript decoders: `pngjs`, `jpeg-js`), in HWC order
 * with 1 (grey) or 3 (RGB) channels: what the file holds, alpha dropped (as Pillow's
 * `convert('RGB')` does), 16-bit PNG samples rounded to 8 bits.
 */
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { DatasetFormatError } from '../datasetErrors';

export interface DecodedImage {
  width: number;
  height: number;
  /** 1 for greyscale files, 3 for colour ones. */
  channels: 1 | 3;
  /** height · width · channels bytes, row-major HWC. */
  pixels: Uint8Array;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((byte, i) => bytes[i] === byte);
}

/** Decodes a PNG or JPEG file's bytes (told apart by their signature, not the name). */
export function decodeImage(bytes: Uint8Array, path: string): DecodedImage {
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  let grey: boolean;
  try {
    if (startsWith(bytes, PNG_SIGNATURE)) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      ({ width, height } = png);
      rgba = png.data;
      // colorType 0 = grey, 4 = grey + alpha; a palette (3) may still be all grey, but is kept as RGB.
      grey = png.colorType === 0 || png.colorType === 4;
    } else if (startsWith(bytes, JPEG_SIGNATURE)) {
      const image = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        tolerantDecoding: false,
      });
      ({ width, height } = image);
      rgba = image.data;
      grey = isGrey(rgba);
    } else {
      throw new Error('not a PNG or JPEG file (unknown signature)');
    }
  } catch (error) {
    throw new DatasetFormatError(path, `cannot decode the image: ${(error as Error).message}`);
  }
  if (!(width > 0 && height > 0) || rgba.length !== width * height * 4) {
    throw new DatasetFormatError(path, `decoded to ${width}×${height} with ${rgba.length} bytes`);
  }
  const channels = grey ? 1 : 3;
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0, o = 0; i < rgba.length; i += 4) {
    pixels[o++] = rgba[i] as number;
    if (!grey) {
      pixels[o++] = rgba[i + 1] as number;
      pixels[o++] = rgba[i + 2] as number;
    }
  }
  return { width, height, channels, pixels };
}

/** JPEG decoders expand greyscale files to equal R, G and B. */
function isGrey(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  }
  return true;
}

/**
 * The pixels with `channels` channels: grey copied into R, G and B, or RGB to grey with Pillow's
 * `convert('L')` weights (L = (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16, ITU-R 601).
 */
export function convertChannels(image: DecodedImage, channels: 1 | 3): Uint8Array {
  if (image.channels === channels) return image.pixels;
  const count = image.width * image.height;
  const out = new Uint8Array(count * channels);
  const src = image.pixels;
  for (let p = 0; p < count; p++) {
    if (channels === 3) {
      const value = src[p] as number;
      out[3 * p] = value;
      out[3 * p + 1] = value;
      out[3 * p + 2] = value;
    } else {
      const [r, g, b] = [src[3 * p] as number, src[3 * p + 1] as number, src[3 * p + 2] as number];
      out[p] = (19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16;
    }
  }
  return out;
}
