import {
  augmentationRecord,
  optimizationRecord,
  optimizationSettings,
  trainingAugmentation,
} from '../../src/train/trainingSettings';

test('SGD under OneCycle without clipping records only lr, momentum and weight decay (run keys made before the other choices still match)', () => {
  const before = { lr: 0.3, momentum: 0.9, weightDecay: 0 };
  expect(JSON.stringify(optimizationRecord(before))).toBe(JSON.stringify(before));
  const explicitDefaults = {
    ...before,
    optimizer: 'sgd',
    schedule: 'onecycle',
    maxGradNorm: 0,
    gradientAccumulationSteps: 1,
  } as const;
  expect(JSON.stringify(optimizationRecord(explicitDefaults))).toBe(JSON.stringify(before));
});

test('every other choice is part of the record, so a run with another one does not resume this one', () => {
  const settings = {
    lr: 0.003,
    momentum: 0.9,
    weightDecay: 0.01,
    optimizer: 'adamw',
    beta2: 0.99,
    schedule: 'cosine',
    warmupRatio: 0.1,
    maxGradNorm: 1,
    gradientAccumulationSteps: 4,
  } as const;
  expect(optimizationRecord(settings)).toEqual(settings);
  expect(optimizationRecord({ ...settings, warmupRatio: 0.2 })).not.toEqual(
    optimizationRecord(settings),
  );
});

test('optimizationSettings keeps the optimization fields and drops the rest', () => {
  const picked = optimizationSettings({
    lr: 1,
    momentum: 0.5,
    weightDecay: 0,
    schedule: 'linear',
    dataset: 'mnist',
  } as Parameters<typeof optimizationSettings>[0]);
  expect(picked).toMatchObject({ lr: 1, momentum: 0.5, weightDecay: 0, schedule: 'linear' });
  expect('dataset' in picked).toBe(false);
});

test('trainingAugmentation: the dataset’s default, its flips overridden by horizontalFlip, or none', () => {
  expect(trainingAugmentation({ dataset: 'mnist' })).toEqual({
    cropPadding: 2,
    horizontalFlip: false,
  });
  expect(trainingAugmentation({ dataset: 'mnist', horizontalFlip: true })).toEqual({
    cropPadding: 2,
    horizontalFlip: true,
  });
  expect(trainingAugmentation({ dataset: 'cifar10', horizontalFlip: false })).toEqual({
    cropPadding: 4,
    horizontalFlip: false,
  });
  expect(trainingAugmentation({ dataset: 'photos/', augment: false, horizontalFlip: true })).toBe(
    false,
  );
});

test('trainingAugmentation adds the resized crop and colour jitter; augmentationRecord names only what was given', () => {
  const colorJitter = { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 };
  expect(
    trainingAugmentation({ dataset: 'photos/', randomResizedCrop: [0.08, 1], colorJitter }),
  ).toEqual({
    cropPadding: 2,
    horizontalFlip: false,
    randomResizedCrop: { scale: [0.08, 1] },
    colorJitter,
  });
  expect(() =>
    trainingAugmentation({ dataset: 'mnist', augment: false, randomResizedCrop: [0.5, 1] }),
  ).toThrow('Expected augment with randomResizedCrop or colorJitter');
  // Runs made before these existed keep their keys.
  expect(JSON.stringify(augmentationRecord({ augment: true }))).toBe('{"augment":true}');
  expect(
    augmentationRecord({ horizontalFlip: false, randomResizedCrop: [0.5, 1], colorJitter }),
  ).toEqual({
    augment: true,
    horizontalFlip: false,
    randomResizedCrop: [0.5, 1],
    colorJitter,
  });
});
