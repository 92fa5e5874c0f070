/**
 * `--adapter PATH` and `--adapter-scale S`, shared by the commands that merge adapters into a model
 * (merge, evaluate, predict): both repeatable, the scales paired with the adapters in order.
 */
import type { Command } from 'commander';
import type { AdapterToMerge } from '../train/loadAdaptedViT';
import { CliUsageError } from './errors';
import { collect, numberFlag } from './parseFlags';

export interface AdapterFlags {
  adapter?: string[];
  adapterScale?: number[];
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
  ).option('--adapter-scale <x>', ADAPTER_SCALE_HELP, collect(numberFlag(-1000, 1000)));
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

/** `A`, or `A (×0.5) + B`: the adapters as a merge reads them. */
export function describeAdapters(adapters: readonly AdapterToMerge[]): string {
  return adapters
    .map(({ path, scale = 1 }) => (scale === 1 ? path : `${path} (×${scale})`))
    .join(' + ');
}
