/**
 * `superlora sweep`: the paper's parameter-efficiency study. Fine-tunes every config of a grid (a
 * built-in one by name, or a JSON file) with the same model, data, steps and seed, `--jobs` at a
 * time, and writes results.jsonl, results.csv and the accuracy-against-parameters plot (SVG, PNG).
 * `--seeds A B …` repeats the sweep per seed and plots the per-config means.
 * Re-running the same command resumes: finished configs are skipped, and an interrupted one
 * continues from its last checkpoint (`--checkpoint-every N`).
 */
import { existsSync } from 'fs';
import { join } from 'path';
import type { Command } from 'commander';
import type { EngineChoice } from '../../engines/engine';
import { parseGrid, type SweepGrid } from '../../sweep/grid';
import { gridNames, namedGrid } from '../../sweep/namedGrids';
import { meanOverRuns } from '../../sweep/meanOverRuns';
import { writeSweepPlots } from '../../sweep/renderPlot';
import type { SweepResult } from '../../sweep/results';
import { RESULTS_JSONL } from '../../sweep/resultsFiles';
import { runSweep } from '../../sweep/runSweep';
import type { SweepSettings } from '../../sweep/sweepSettings';
import { reductionLines, spreadLines } from '../sweepReport';
import { DEFAULT_TARGET_PATTERNS } from '../../tfjs/modelAdapter';
import { CliUsageError } from '../errors';
import { defaultTargetPatternsFor } from '../../train/imageClassifier';
import { addModelFlag, modelDirOf, type ModelFlags } from '../modelFlag';
import { collect, engineFlag, integerFlag } from '../parseFlags';
import { readJsonFile } from '../readJsonFile';
import { addTrainingFlags, trainingSettings, type TrainingFlags } from '../trainingFlags';
import { FINETUNE_DEFAULTS } from './finetune';

export const SWEEP_DEFAULTS = {
  dataset: FINETUNE_DEFAULTS.dataset,
  steps: FINETUNE_DEFAULTS.steps,
  batchSize: FINETUNE_DEFAULTS.batchSize,
  optimizer: FINETUNE_DEFAULTS.optimizer,
  lr: FINETUNE_DEFAULTS.lr,
  evalEvery: 0,
  checkpointEvery: 0,
  out: 'runs/sweep',
} as const;

interface SweepFlags extends TrainingFlags, ModelFlags {
  seeds?: number[];
  grid: string;
  jobs: number;
  targets?: string[];
  engine: EngineChoice;
}

/** A built-in grid's name, or else a JSON file of the same shape. */
export async function loadGrid(value: string): Promise<SweepGrid> {
  const builtIn = namedGrid(value);
  if (builtIn !== undefined) return builtIn;
  if (!existsSync(value)) {
    throw new CliUsageError(
      `Expected a grid name (${gridNames.join(', ')}) or a JSON file for --grid but received ${JSON.stringify(value)}, which is neither`,
    );
  }
  return parseGrid(await readJsonFile(value, '--grid'), value);
}

/** One sweep per seed, each in `out/seed<S>/`, then the plot and savings of the per-config means. */
async function runSeeds(
  flags: SweepFlags,
  grid: SweepGrid,
  settings: SweepSettings,
  seeds: number[],
): Promise<void> {
  const sweeps: SweepResult[][] = [];
  for (const seed of seeds) {
    const outDir = join(flags.out, `seed${seed}`);
    const outcome = await runSweep({
      grid,
      outDir,
      jobs: flags.jobs,
      settings: { ...settings, seed },
      log: (line) => console.error(`seed ${seed}: ${line}`),
    });
    console.log(
      `${grid.name} seed ${seed}: ran ${outcome.ran.length}, skipped ${outcome.skipped.length} finished, in ${outcome.seconds.toFixed(0)} s; results in ${outDir}`,
    );
    sweeps.push(outcome.results);
  }
  const sources = seeds.map((seed) => join(flags.out, `seed${seed}`, RESULTS_JSONL));
  const { results, spreads } = meanOverRuns(sweeps, sources);
  await writeSweepPlots(
    flags.out,
    results,
    `${grid.name}: mean accuracy over seeds ${seeds.join(', ')}`,
    (line) => console.error(line),
  );
  for (const line of spreadLines(spreads)) console.log(line);
  for (const line of reductionLines(results)) console.log(line);
}

async function run(flags: SweepFlags, command: Command): Promise<void> {
  if (flags.seeds !== undefined && command.getOptionValueSource('seed') === 'cli') {
    throw new CliUsageError(
      'Expected --seeds or --seed, not both: --seeds runs the whole sweep once per seed',
    );
  }
  const grid = await loadGrid(flags.grid);
  const modelDir = modelDirOf(flags);
  const settings: SweepSettings = {
    ...trainingSettings(flags, SWEEP_DEFAULTS),
    modelDir,
    ...(flags.inputRange ? { inputRange: flags.inputRange } : {}),
    targetPatterns: flags.targets ?? defaultTargetPatternsFor(modelDir),
    engine: flags.engine,
    backend: flags.backend,
    nativeKernels: flags.nativeKernels,
  };
  if (flags.seeds !== undefined) {
    if (new Set(flags.seeds).size !== flags.seeds.length) {
      throw new CliUsageError(`Expected distinct --seeds but received ${flags.seeds.join(' ')}`);
    }
    await runSeeds(flags, grid, settings, flags.seeds);
    return;
  }
  const outcome = await runSweep({
    grid,
    outDir: flags.out,
    jobs: flags.jobs,
    settings,
    log: (line) => console.error(line),
  });
  console.log(
    `${grid.name}: ran ${outcome.ran.length}, skipped ${outcome.skipped.length} finished, in ${outcome.seconds.toFixed(0)} s; results in ${flags.out}`,
  );
  for (const line of reductionLines(outcome.results)) console.log(line);
}

export function registerSweepCommand(program: Command): void {
  const command = program
    .command('sweep')
    .description(
      'fine-tune every config of a grid on the same model and data; write results and the accuracy-against-parameters plot (resumable)',
    )
    .requiredOption(
      '--grid <name|file>',
      `a built-in grid (${gridNames.join(', ')}) or a JSON file {name, configs: [{name, family, config}]}`,
    )
    .option(
      '--jobs <n>',
      'configs trained at once, each in its own process with its share of the cores',
      integerFlag(1, 256),
      1,
    );
  addModelFlag(command)
    .option(
      '--targets <pattern...>',
      `regular expressions selecting the adapted weights (default: ${DEFAULT_TARGET_PATTERNS.join(' ')} for a ViT; every weight before the head of a tfjs Layers model)`,
    )
    .option('--engine <engine>', 'ΔW engine: auto, tfjs, native, cuda', engineFlag, 'auto')
    .option(
      '--seeds <s...>',
      'repeat the sweep once per seed, in --out/seed<S>/, then plot each config’s mean accuracy in --out (instead of --seed)',
      collect(integerFlag(0, 2 ** 32 - 1)),
    );
  addTrainingFlags(command, SWEEP_DEFAULTS).action(run);
}
