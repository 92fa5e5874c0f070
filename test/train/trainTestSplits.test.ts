/**
 * A run's splits with a validation set: held out of the training split, class-stratified, disjoint
 * from what trains, the same for every seed, before --train-size subsets the rest.
 */
import { loadTrainTestSplits } from '../../src/train/trainTestSplits';

const input = { imageSize: 28, numChannels: 1 };
const image = (d: { images: Uint8Array }, i: number) =>
  d.images.subarray(i * 784, (i + 1) * 784).join();

test('--validation-size holds out a stratified set of training images, the same for every seed', async () => {
  const base = { dataset: 'mnist' as const, validationSize: 500 };
  const plain = await loadTrainTestSplits({ dataset: 'mnist', seed: 0 }, input);
  const a = await loadTrainTestSplits({ ...base, seed: 0 }, input);
  const b = await loadTrainTestSplits({ ...base, seed: 7, trainSize: 1000 }, input);
  expect(plain.validationSet).toBeNull();
  expect(a.validationSet!.count).toBe(500);
  expect(a.trainSet.count + 500).toBe(plain.trainSet.count);
  expect(a.testSet.images).toEqual(plain.testSet.images);
  // Class-stratified: every digit within one image of its share of the training split.
  const counts = (labels: ArrayLike<number>) =>
    Array.from({ length: 10 }, (_, c) => Array.from(labels).filter((l) => l === c).length);
  const whole = counts(plain.trainSet.labels);
  counts(a.validationSet!.labels).forEach((count, c) =>
    expect(Math.abs(count - (whole[c]! * 500) / plain.trainSet.count)).toBeLessThanOrEqual(1),
  );
  // The same images for another seed; none of them trains.
  expect(b.validationSet!.images).toEqual(a.validationSet!.images);
  expect(b.trainSet.count).toBe(1000);
  const held = new Set(Array.from({ length: 500 }, (_, i) => image(a.validationSet!, i)));
  const trained = Array.from({ length: a.trainSet.count }, (_, i) => image(a.trainSet, i));
  // MNIST has a few byte-identical digits; a held-out image is otherwise never trained on.
  expect(trained.filter((key) => held.has(key)).length).toBeLessThan(5);
});

test('a validation size that leaves nothing to train on is refused', async () => {
  await expect(
    loadTrainTestSplits({ dataset: 'mnist', seed: 0, validationSize: 8000 }, input),
  ).rejects.toThrow(
    'Expected a validation size from 1 to 7999 (the training split has 8000 images) but received 8000',
  );
});
