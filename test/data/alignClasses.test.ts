import { alignClasses, type Dataset } from '../../src/data/dataset';

const folder: Dataset = {
  name: 'folder',
  images: new Uint8Array(4),
  labels: Int32Array.from([0, 1, 2, 1]),
  count: 4,
  height: 1,
  width: 1,
  channels: 1,
  numClasses: 3,
  classNames: ['ant', 'bee', 'zebra'], // sorted folder names
};

test('the same names in another order: labels renumbered to the model’s order', () => {
  const aligned = alignClasses(folder, ['zebra', 'ant', 'bee']);
  expect(aligned.classNames).toEqual(['zebra', 'ant', 'bee']);
  // ant 0 → 1, bee 1 → 2, zebra 2 → 0: each sample keeps its class name.
  expect(Array.from(aligned.labels)).toEqual([1, 2, 0, 2]);
  aligned.labels.forEach((label, i) => {
    expect(aligned.classNames[label]).toBe(folder.classNames[folder.labels[i]!]);
  });
  expect(aligned.images).toBe(folder.images);
});

test('names already in order, or not the same names, leave the dataset as it is', () => {
  expect(alignClasses(folder, ['ant', 'bee', 'zebra'])).toBe(folder);
  expect(alignClasses(folder, ['LABEL_0', 'LABEL_1', 'LABEL_2'])).toBe(folder);
  expect(alignClasses(folder, ['zebra', 'ant'])).toBe(folder);
  expect(alignClasses(folder, ['zebra', 'ant', 'ant'])).toBe(folder);
});
