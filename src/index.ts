/**
 * The public API of superlora. Everything not exported here is internal and may change.
 */
export {
  ConfigError,
  resolveConfig,
  validateTargets,
  type CoreKind,
  type Grouping,
  type ReshapeKind,
  type ResolvedConfig,
  type SplitRank,
  type SuperLoraConfig,
  type Target,
} from './config';
export { createPlan, Plan, type EngineOptions, type PlanOptions } from './createPlan';
export type { BucketPlan, GroupPlan, ParamEntry, PlanLayout, Region, SplitPlan } from './plan';
export { presetConfig, presetNames, presets, type PresetName } from './presets';
export {
  EngineUnavailableError,
  type DeltaEngine,
  type EngineChoice,
  type EngineName,
} from './engines/engine';
export type { CudaEngine } from './engines/cuda';
export type { NativeEngine } from './engines/native';
export type { TfjsEngine } from './engines/tfjs';
export {
  AdapterFileError,
  loadAdapter,
  saveAdapter,
  type SaveAdapterOptions,
} from './io/adapterFile';
export {
  readSafetensors,
  writeSafetensors,
  SafetensorsFormatError,
  type SafeTensor,
} from './io/safetensors';
export {
  denseFactor,
  PeftFormatError,
  readPeftAdapter,
  writePeftAdapter,
  type KronFactor,
  type PeftAdapter,
  type PeftModule,
  type PeftType,
  type WritePeftOptions,
} from './io/peftFile';
export {
  adapterFromPeft,
  exactPeftType,
  peftFromAdapter,
  type PeftExport,
  type PeftExportOptions,
  type PeftExportTarget,
} from './interop/peft';
export {
  lowRankDecomposition,
  lowRankDecompositionAsync,
  rankForTolerance,
  type LowRankDecomposition,
  type LowRankFactors,
} from './linalg/lowRankDecomposition';
export { addonInfo, loadAddon } from './native/loadAddon';
export type {
  Capabilities,
  CompiledPlan,
  CudaNativePlan,
  CudaNativePlanInfo,
  NativePlan,
  NativePlanInfo,
} from './native/addonTypes';
export {
  datasetNames,
  subset,
  type Dataset,
  type DatasetName,
  type DatasetSplit,
  type SubsetOptions,
} from './data/dataset';
export { DatasetFormatError, DatasetUnavailableError } from './data/datasetErrors';
export { loadDataset, type LoadDatasetOptions } from './data/loadDataset';
export {
  readCifarFiles,
  type CifarLabelKind,
  type CifarVariant,
  type ReadCifarOptions,
} from './data/readCifar';
export {
  batchAt,
  defaultAugmentation,
  type AugmentOptions,
  type Batch,
  type BatchOptions,
} from './data/batchAt';
export type { ColorJitterOptions } from './data/colorJitter';
export type { RandomResizedCropOptions } from './data/randomResizedCrop';
export { batchIndices, epochPermutation, stepsPerEpoch } from './data/epochPermutation';
export { defaultDatasetCacheDir } from './data/datasetCache';
export {
  imageCacheLimitBytes,
  listCacheFiles,
  pruneImageCache,
  type CacheFile,
} from './data/cacheFolder';
export { version } from './version';
export * from './vit';
export {
  DEFAULT_TARGET_PATTERNS,
  ModelAdapter,
  selectTargets,
  type AdaptableModel,
  type ModelAdapterOptions,
} from './tfjs/modelAdapter';
export { LayersModelFileError, layersModelFiles } from './io/layersModelFiles';
export {
  AdaptableLayersModel,
  type LayersForwardOptions,
  type WeightOverride,
} from './tfjs/layersModel';
export {
  loadAdaptedClassifier,
  loadAdaptedViT,
  type AdapterToMerge,
  type LoadAdaptedOptions,
} from './train/loadAdaptedClassifier';
export {
  classifierKind,
  type ClassifierForwardOptions,
  type ClassifierKind,
  type ImageClassifier,
} from './train/imageClassifier';
export { loadImageClassifier, type LoadClassifierOptions } from './train/loadImageClassifier';
export {
  DEFAULT_INPUT_RANGE,
  LayersClassifier,
  loadLayersClassifier,
  type InputRange,
  type LayersClassifierOptions,
} from './train/layersClassifier';
export {
  combineDeltas,
  combinationNames,
  type CombinationName,
  type CombinationOptions,
} from './train/combineDeltas';
export { useBackend, BackendUnavailableError, type BackendChoice } from './tfjs/backend';
export {
  registerNativeKernels,
  unregisterNativeKernels,
  nativeKernelsRegistered,
  nativeKernelsStatus,
  allocatorTuned,
  type RegisterNativeKernelsOptions,
} from './tfjs/kernels/register';
export { outputPoolStats, clearOutputPool, type OutputPoolStats } from './tfjs/kernels/outputPool';
export { finetune, type FinetuneOptions, type FinetuneSummary } from './train/finetune';
export { resetHead, ViTClassifier } from './train/vitClassifier';
export { pretrain, type PretrainOptions } from './train/pretrain';
export {
  train,
  crossEntropy,
  type TrainOptions,
  type TrainResult,
  type TrainTask,
} from './train/trainLoop';
export {
  learningRate,
  oneCycleLr,
  scheduleNames,
  type OneCycleOptions,
  type ScheduleName,
  type ScheduleOptions,
} from './train/schedule';
export {
  createOptimizer,
  optimizerNames,
  type Optimizer,
  type OptimizerName,
  type OptimizerSettings,
} from './train/optimizer';
export { SgdMomentum, type SgdOptions } from './train/sgdMomentum';
export { AdamW, type AdamWOptions } from './train/adamW';
export { clipByGlobalNorm, type ClippedGradients } from './train/gradientClipping';
export type { OptimizationSettings, TrainingSettings } from './train/trainingSettings';
export { runSweep, type SweepOptions, type SweepOutcome } from './sweep/runSweep';
export type { SweepSettings } from './sweep/sweepSettings';
export { parseGrid, type GridEntry, type SweepGrid } from './sweep/grid';
export { gridNames, namedGrid } from './sweep/namedGrids';
export type { SweepResult } from './sweep/results';
export { paramsToReach, paretoFrontier, type ParetoPoint } from './sweep/pareto';
export { meanOverRuns, type AccuracySpread, type MeanOverRuns } from './sweep/meanOverRuns';
