/**
 * A synthetic image dataset that needs no package: class c lights up the rows y with y mod C = c
 * (bright 200–255) over dark noise (0–60). Learnable by a linear probe, so a few training steps
 * separate it: for benchmarks (`bench memory`) and fast training tests.
 */
import type { Dataset } from './dataset';
import { DataStream, dataStream } from './dataRng';

export function stripesDataset(
  count: number,
  side: number,
  numClasses: number,
  seed: number,
): Dataset {
  const stream = dataStream(seed, DataStream.synthetic);
  const images = new Uint8Array(count * side * side);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % numClasses;
    labels[n] = label;
    for (let y = 0; y < side; y++) {
      const lit = y % numClasses === label;
      for (let x = 0; x < side; x++) {
        images[(n * side + y) * side + x] = lit ? 200 + stream.nextBelow(56) : stream.nextBelow(61);
      }
    }
  }
  return {
    name: 'stripes',
    images,
    labels,
    count,
    height: side,
    width: side,
    channels: 1,
    numClasses,
    classNames: Array.from({ length: numClasses }, (_, c) => `stripe ${c}`),
  };
}
