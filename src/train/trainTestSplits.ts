/**
 * The training, validation and test sets of a run: the dataset's two splits (a built-in dataset,
 * or an image folder converted to the model's input), each cut to a class-stratified subset when
 * asked, and, when asked, a class-stratified validation set held out of the training split.
 */
import { selectSamples, subset, type Dataset } from '../data/dataset';
import { loadDataset } from '../data/loadDataset';
import { stratifiedSplit } from '../data/stratifiedSplit';
import type { TrainingSettings } from './trainingSettings';

export interface ModelInput {
  imageSize: number;
  numChannels: number;
}

/**
 * The same validation images for every seed of a run, so that runs with other seeds are compared
 * on one set.
 */
const VALIDATION_SPLIT_SEED = 0;

export async function loadTrainTestSplits(
  settings: Pick<
    TrainingSettings,
    'dataset' | 'dataDir' | 'trainSize' | 'testSize' | 'validationSize' | 'seed'
  >,
  input: ModelInput,
): Promise<{ trainSet: Dataset; validationSet: Dataset | null; testSet: Dataset }> {
  const options = {
    dir: settings.dataDir,
    imageSize: input.imageSize,
    channels: input.numChannels,
  };
  let trainSet = await loadDataset(settings.dataset, { split: 'train', ...options });
  let testSet = await loadDataset(settings.dataset, { split: 'test', ...options });
  let validationSet: Dataset | null = null;
  const { validationSize } = settings;
  if (validationSize !== undefined) {
    if (!(
      Number.isInteger(validationSize) &&
      validationSize >= 1 &&
      validationSize < trainSet.count
    )) {
      throw new RangeError(
        `Expected a validation size from 1 to ${trainSet.count - 1} (the training split has ${trainSet.count} images) but received ${validationSize}`,
      );
    }
    const split = stratifiedSplit(trainSet, validationSize, VALIDATION_SPLIT_SEED);
    validationSet = selectSamples(trainSet, split.test, `${trainSet.name} (validation)`);
    trainSet = selectSamples(trainSet, split.train);
  }
  if (settings.trainSize !== undefined && settings.trainSize < trainSet.count)
    trainSet = subset(trainSet, settings.trainSize, { seed: settings.seed });
  if (settings.testSize !== undefined && settings.testSize < testSet.count)
    testSet = subset(testSet, settings.testSize, { seed: settings.seed });
  return { trainSet, validationSet, testSet };
}
