/** A small in-memory image dataset whose classes are learnable patterns, for fast training tests. */
import type { Dataset } from '../../src/data/dataset';
import { seededRandom } from '../conformance/randomConfigs';

/** Class c lights up row c (and noise elsewhere): a linear probe separates the classes. */
export function stripesDataset(
  count: number,
  side: number,
  numClasses: number,
  seed: number,
): Dataset {
  const random = seededRandom(seed);
  const images = new Uint8Array(count * side * side);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % numClasses;
    labels[n] = label;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const lit = y % numClasses === label;
        images[n * side * side + y * side + x] = Math.round(
          lit ? 200 + 55 * random() : 60 * random(),
        );
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
