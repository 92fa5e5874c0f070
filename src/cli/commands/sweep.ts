/**
 * `superlora sweep`: the paper's parameter-efficiency study. Fine-tunes every config of a grid (a
 * built-in one by name, or a JSON file) with the same model, data, steps and seed, `--jobs` at a
 * time, and writes results.jsonl, results.csv and the accuracy-against-parameters plot (SVG, PNG).
 * Re-running the same command resumes: finished configs are skipped, and an interrupted one
 * continues from its last checkpoint (`--checkpoint-every N`).
 */
import { existsSync } from 'fs';
import type { Command } from 'commander';
import type { EngineChoice } from '../../engines/engine';
import { parseGrid, type SweepGrid } from '../../sweep/grid';
import { gridNames, namedGrid } from '../../sweep/namedGrids';
import { paramsToReach, paretoFrontier } from '../../sweep/pareto';
import type { SweepResult } from '../../sweep/results';
import { runSweep } from '../../sweep/runSweep';
import { DEFAULT_TARGET_PATTERNS } from '../../tfjs/modelAdapter';
import { CliUsageError } from '../errors';
import { shippedModelDir } from '../packagePaths';
import { engineFlag, integerFlag } from '../parseFlags';
import { readJsonFile } from '../readJsonFile';
import { addTrainingFlags, trainingSettings, type TrainingFlags } from '../trainingFlags';
import { FINETUNE_DEFAULTS } from './finetune';

export const SWEEP_DEFAULTS = {
  dataset: FINETUNE_DEFAULTS.dataset,
  steps: FINETUNE_DEFAULTS.steps,
  batchSize: FINETUNE_DEFAULTS.batchSize,
  lr: FINETUNE_DEFAULTS.lr,
  evalEvery: 0,
  checkpointEvery: 0,
  out: 'runs/sweep',
} as const;

interface SweepFlags extends TrainingFlags {
  grid: string;
  jobs: number;
  model?: string;
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

/** Lines comparing each family with a baseline family at the baseline's frontier accuracies. */
export function reductionLines(results: readonly SweepResult[], baseline = 'LoRA'): string[] {
  const points = (family: string): { params: number; accuracy: number }[] =>
    results
      .filter((r) => r.family === family && r.accuracy !== null)
      .map((r) => ({ params: r.adapterParams, accuracy: r.accuracy as number }));
  const base = paretoFrontier(points(baseline));
  if (base.length === 0) return [];
  const lines: string[] = [];
  for (const family of new Set(results.map((r) => r.family))) {
    if (family === baseline) continue;
    const own = points(family);
    const cells = base.map((point) => {
      const needed = paramsToReach(own, point.accuracy);
      return needed === null ? 'not reached' : `${(point.params / needed).toFixed(2)}×`;
    });
    lines.push(`${family}: ${cells.join(', ')}`);
  }
  const header = base
    .map((p) => `${p.params} params @ ${(100 * p.accuracy).toFixed(2)}%`)
    .join(', ');
  return [`fewer parameters than ${baseline} (${header}):`, ...lines.map((l) => `  ${l}`)];
}

async function run(flags: SweepFlags): Promise<void> {
  const grid = await loadGrid(flags.grid);
  const outcome = await runSweep({
    grid,
    outDir: flags.out,
    jobs: flags.jobs,
    settings: {
      ...trainingSettings(flags),
      modelDir: flags.model ?? shippedModelDir(),
      targetPatterns: flags.targets ?? DEFAULT_TARGET_PATTERNS,
      engine: flags.engine,
      backend: flags.backend,
      nativeKernels: flags.nativeKernels,
    },
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
    )
    .option(
      '--model <dir>',
      'Hugging Face ViT folder (config.json + model.safetensors); default: the shipped base model',
    )
    .option(
      '--targets <pattern...>',
      `regular expressions selecting the adapted Linear weights (default: ${DEFAULT_TARGET_PATTERNS.join(' ')})`,
    )
    .option('--engine <engine>', 'ΔW engine: auto, tfjs, native, cuda', engineFlag, 'auto');
  addTrainingFlags(command, SWEEP_DEFAULTS).action(run);
}
