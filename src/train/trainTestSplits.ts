/**
 * The training and test sets of a run: the dataset's two splits (a built-in dataset, or an image
 * folder converted to the model's input), each cut to a class-stratified subset when asked.
 */
import { subset, type Dataset } from '../data/dataset';
import { loadDataset } from '../data/loadDataset';
import type { TrainingSettings } from './trainingSettings';

export interface ModelInput {
  imageSize: number;
  numChannels: number;
}

export async function loadTrainTestSplits(
  settings: Pick<TrainingSettings, 'dataset' | 'dataDir' | 'trainSize' | 'testSize' | 'seed'>,
  input: ModelInput,
): Promise<{ trainSet: Dataset; testSet: Dataset }> {
  const options = {
    dir: settings.dataDir,
    imageSize: input.imageSize,
    channels: input.numChannels,
  };
  let trainSet = await loadDataset(settings.dataset, { split: 'train', ...options });
  let testSet = await loadDataset(settings.dataset, { split: 'test', ...options });
  if (settings.trainSize !== undefined && settings.trainSize < trainSet.count)
    trainSet = subset(trainSet, settings.trainSize, { seed: settings.seed });
  if (settings.testSize !== undefined && settings.testSize < testSet.count)
    testSet = subset(testSet, settings.testSize, { seed: settings.seed });
  return { trainSet, testSet };
}
