/**
 * The fixed train/test split for sources that ship no split of their own: class-stratified (each
 * class contributes to the test set in proportion to its size) and seeded, so every machine and
 * every run gets the same test set.
 */
import { createHash } from 'node:crypto';

import { apportion, imageSize, indicesByClass, type Dataset } from './dataset';
import { dataStream, DataStream, shuffleInPlace } from './dataRng';

export interface SplitIndices {
  /** Ascending sample indices of the training set. */
  train: Int32Array;
  /** Ascending sample indices of the test set. */
  test: Int32Array;
}

/**
 * Splits `dataset` into `testCount` test samples and the rest. Byte-identical images of one class
 * are kept on the same side (Fashion-MNIST has about fifty such pairs), so the test set never
 * scores a memorised training image. When a pair would overflow a class's test quota it goes to
 * training, which can leave that class's quota one short; with singletons to fill it, it never is
 * in practice, and the tests pin the sizes.
 */
export function stratifiedSplit(dataset: Dataset, testCount: number, seed: number): SplitIndices {
  const byClass = indicesByClass(dataset);
  const quotas = apportion(
    byClass.map((members) => members.length),
    testCount,
  );
  const size = imageSize(dataset);
  const isTest = new Uint8Array(dataset.count);
  byClass.forEach((members, label) => {
    const groups = duplicateGroups(dataset.images, size, members);
    const order = shuffleInPlace(
      Int32Array.from(groups.keys()),
      dataStream(seed, DataStream.split, label),
    );
    let remaining = quotas[label] as number;
    for (const groupIndex of order) {
      if (remaining === 0) break;
      const group = groups[groupIndex] as number[];
      if (group.length > remaining) continue;
      for (const index of group) isTest[index] = 1;
      remaining -= group.length;
    }
  });
  const test: number[] = [];
  const train: number[] = [];
  isTest.forEach((flag, index) => (flag ? test : train).push(index));
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/** `members` grouped by identical pixels, groups in order of first appearance. */
function duplicateGroups(images: Uint8Array, size: number, members: readonly number[]): number[][] {
  const groups: number[][] = [];
  const groupOf = new Map<string, number[]>();
  for (const index of members) {
    const key = createHash('sha1')
      .update(images.subarray(index * size, (index + 1) * size))
      .digest('base64');
    const group = groupOf.get(key);
    if (group) {
      group.push(index);
    } else {
      const created = [index];
      groupOf.set(key, created);
      groups.push(created);
    }
  }
  return groups;
}
