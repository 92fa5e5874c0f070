/** `superlora pretrain`: trains a small ViT from scratch and writes a Hugging Face model folder. */
import type { Command } from 'commander';
import { useBackend } from '../../tfjs/backend';
import { pretrain } from '../../train/pretrain';
import { Progress } from '../../train/progress';
import { describeOptimization } from '../../train/trainingSettings';
import { CliUsageError } from '../errors';
import { integerFlag } from '../parseFlags';
import {
  addResumeFlag,
  addTrainingFlags,
  trainingSettings,
  type TrainingFlags,
} from '../trainingFlags';

export const PRETRAIN_DEFAULTS = {
  dataset: 'fashion-mnist',
  steps: 3000,
  batchSize: 128,
  optimizer: 'sgd',
  lr: { sgd: 0.05, adamw: 0.001 },
  evalEvery: 500,
  checkpointEvery: 100,
  out: 'models/vit-tiny-fashion-mnist',
} as const;

interface PretrainFlags extends TrainingFlags {
  resume?: boolean;
  imageSize: number;
  patchSize: number;
  hidden: number;
  layers: number;
  heads: number;
  mlp: number;
}

/** The architecture's constraints, checked before anything runs and named by their flags. */
function checkArchitecture(flags: PretrainFlags): void {
  if (flags.hidden % flags.heads !== 0) {
    throw new CliUsageError(
      `Expected --hidden (${flags.hidden}) to be a multiple of --heads (${flags.heads})`,
    );
  }
  if (flags.imageSize % flags.patchSize !== 0) {
    throw new CliUsageError(
      `Expected --image-size (${flags.imageSize}) to be a multiple of --patch-size (${flags.patchSize})`,
    );
  }
}

async function run(flags: PretrainFlags): Promise<void> {
  checkArchitecture(flags);
  const settings = trainingSettings(flags, PRETRAIN_DEFAULTS);
  const backend = await useBackend(flags.backend, { nativeKernels: flags.nativeKernels });
  const progress = new Progress();
  const model = {
    imageSize: flags.imageSize,
    patchSize: flags.patchSize,
    numChannels: 1,
    hiddenSize: flags.hidden,
    numHiddenLayers: flags.layers,
    numAttentionHeads: flags.heads,
    intermediateSize: flags.mlp,
    hiddenDropoutProb: 0,
    attentionProbsDropoutProb: 0,
  };
  progress.note(
    `pre-training ${JSON.stringify(model)} on ${flags.dataset} (backend ${backend}), ${describeOptimization(settings)}`,
  );
  const result = await pretrain({
    ...settings,
    model,
    outDir: flags.out,
    resume: flags.resume === true,
    progress,
  });
  const accuracy = result.train.finalEval
    ? `${(100 * result.train.finalEval.accuracy).toFixed(2)}%`
    : 'n/a';
  console.log(`model parameters  ${result.params}`);
  console.log(`test accuracy     ${accuracy}`);
  console.log(`model             ${flags.out}`);
}

export function registerPretrainCommand(program: Command): void {
  const command = program
    .command('pretrain')
    .description('train a small ViT from scratch and save it as a Hugging Face model folder')
    .option(
      '--image-size <n>',
      'input side (the dataset is resized to it)',
      integerFlag(1, 4096),
      28,
    )
    .option('--patch-size <n>', 'patch side', integerFlag(1, 4096), 7)
    .option('--hidden <n>', 'hidden size', integerFlag(1, 65536), 64)
    .option('--layers <n>', 'encoder blocks', integerFlag(1, 1024), 4)
    .option('--heads <n>', 'attention heads', integerFlag(1, 1024), 4)
    .option('--mlp <n>', 'MLP (intermediate) size', integerFlag(1, 262144), 128);
  addResumeFlag(addTrainingFlags(command, PRETRAIN_DEFAULTS)).action(run);
}
