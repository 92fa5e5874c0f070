/**
 * `--adapter PATH` and `--adapter-scale S`, shared by the commands that merge adapters into a model
 * (merge, evaluate, predict): both repeatable, the scales paired with the adapters in order.
 */
import type { Command } from 'commander';
import {
  combinationNames,
  type CombinationName,
  type CombinationOptions,
} from '../train/combineDeltas';
import type { ImageClassifier } from '../train/imageClassifier';
import { loadAdaptedClassifier, type AdapterToMerge } from '../train/loadAdaptedClassifier';
import { loadImageClassifier } from '../train/loadImageClassifier';
import { CliUsageError } from './errors';
import type { ModelFlags } from './modelFlag';
import { choiceFlag, collect, integerFlag, numberFlag } from './parseFlags';

export interface AdapterFlags {
  adapter?: string[];
  adapterScale?: number[];
  combination?: CombinationName;
  density?: number;
  majoritySign?: 'total' | 'frequency';
  combinationSeed?: number;
}

const ADAPTER_HELP =
  'a SuperLoRA adapter file, a finetune output folder (adapter + head) or a PEFT LoRA / LoKr folder, merged into the model; repeat it to merge several (W + Σ sᵢ·ΔWᵢ; at most one may bring a classifier head)';

const ADAPTER_SCALE_HELP =
  'multiply an adapter’s ΔW by this before merging (default 1; between 0 and 1 it interpolates between the base and the fine-tuned weights, as WiSE-FT; the head is used as trained); with several --adapter, one per adapter, in order';

export function addAdapterFlags(command: Command, options: { required: boolean }): Command {
  const adapter = collect(String);
  return (
    options.required
      ? command.requiredOption('--adapter <path>', ADAPTER_HELP, adapter)
      : command.option('--adapter <path>', ADAPTER_HELP, adapter)
  )
    .option('--adapter-scale <x>', ADAPTER_SCALE_HELP, collect(numberFlag(-1000, 1000)))
    .option(
      '--combination <name>',
      `how the adapters' ΔW combine, as PEFT's add_weighted_adapter on the dense ΔW: ${combinationNames.join(', ')} (default linear: Σ sᵢ·ΔWᵢ)`,
      choiceFlag(combinationNames),
    )
    .option(
      '--density <d>',
      'share of each ΔW kept by ties, dare_linear, dare_ties and magnitude_prune, in (0, 1]',
      numberFlag(Number.MIN_VALUE, 1),
    )
    .option(
      '--majority-sign <method>',
      'how ties and dare_ties elect each entry’s sign: total (of the summed ΔW) or frequency (of the count of signs); default total',
      choiceFlag(['total', 'frequency'] as const),
    )
    .option(
      '--combination-seed <s>',
      'seeds DARE’s random drops (default 0)',
      integerFlag(0, 2 ** 32 - 1),
    );
}

/** The combination the flags ask for, refused where it cannot apply. */
export function combinationOf(flags: AdapterFlags): CombinationOptions {
  const combination = flags.combination ?? 'linear';
  if (combination === 'linear') {
    const stray = (
      [
        ['--density', flags.density],
        ['--majority-sign', flags.majoritySign],
        ['--combination-seed', flags.combinationSeed],
      ] as const
    ).filter(([, value]) => value !== undefined);
    if (stray.length > 0) {
      throw new CliUsageError(
        `Expected --combination ties, dare_linear, dare_ties or magnitude_prune with ${stray.map(([flag]) => flag).join(' and ')}`,
      );
    }
    return { combination };
  }
  if (flags.density === undefined) {
    throw new CliUsageError(`Expected --density with --combination ${combination}`);
  }
  return {
    combination,
    density: flags.density,
    ...(flags.majoritySign ? { majoritySign: flags.majoritySign } : {}),
    ...(flags.combinationSeed !== undefined ? { seed: flags.combinationSeed } : {}),
  };
}

/** The adapters to merge with their scales; none when no --adapter is given. */
export function adaptersToMerge(flags: AdapterFlags): AdapterToMerge[] {
  const paths = flags.adapter ?? [];
  const scales = flags.adapterScale ?? [];
  if (scales.length > 0 && paths.length === 0) {
    throw new CliUsageError(
      'Expected --adapter with --adapter-scale: there is no adapter to scale',
    );
  }
  if (scales.length > 0 && scales.length !== paths.length) {
    throw new CliUsageError(
      `Expected one --adapter-scale per --adapter (or none) but received ${scales.length} for ${paths.length} adapters`,
    );
  }
  return paths.map((path, i) => ({ path, scale: scales[i] ?? 1 }));
}

/**
 * The model with the flags' adapters merged (combined as --combination says), or the model as it
 * is without --adapter; combination flags without an adapter are refused.
 */
export async function loadModelWithAdapters(
  modelPath: string,
  flags: AdapterFlags & ModelFlags,
): Promise<ImageClassifier> {
  const adapters = adaptersToMerge(flags);
  const combination = combinationOf(flags);
  const { inputRange } = flags;
  if (adapters.length === 0) {
    if (combination.combination !== 'linear') {
      throw new CliUsageError('Expected --adapter with --combination: there is nothing to combine');
    }
    return loadImageClassifier(modelPath, { inputRange });
  }
  return loadAdaptedClassifier(modelPath, adapters, { combination, inputRange });
}

/** `A`, or `A (×0.5) + B`: the adapters as a merge reads them. */
export function describeAdapters(adapters: readonly AdapterToMerge[]): string {
  return adapters
    .map(({ path, scale = 1 }) => (scale === 1 ? path : `${path} (×${scale})`))
    .join(' + ');
}
