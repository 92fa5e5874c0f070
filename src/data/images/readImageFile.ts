/** One PNG / JPEG file as the pixels a model takes: decoded, converted and resized. */
import { readFile } from 'node:fs/promises';
import { convertChannels, decodeImage } from './decodeImage';
import { resizeImage } from './resizeImage';

/**
 * A PNG / JPEG file as `channels` × size × size bytes (HWC): converted to the channels (RGB →
 * grey with Pillow's `convert('L')` weights) and resized with Pillow-style antialiased BILINEAR.
 */
export async function readImageFile(
  filePath: string,
  size: number,
  channels: 1 | 3,
): Promise<Uint8Array> {
  const image = decodeImage(await readFile(filePath), filePath);
  const pixels = convertChannels(image, channels);
  return resizeImage(pixels, image.height, image.width, channels, size, size);
}
