/**
 * `superlora merge --model DIR --adapter FILE|DIR --out DIR`: folds an adapter into the model's
 * weights (W += ΔW for every target; with a `finetune` output folder, also its classifier head and
 * label names) and writes the result as a Hugging Face model folder (config.json +
 * model.safetensors) that loads anywhere the base model does, with no adapter code at inference.
 */
import { resolve } from 'path';
import type { Command } from 'commander';
import { loadAdaptedViT } from '../../train/loadAdaptedViT';
import { saveViT } from '../../vit/io';
import { CliUsageError } from '../errors';
import { ADAPTER_SCALE_FLAG, ADAPTER_SCALE_HELP, adapterScale, numberFlag } from '../parseFlags';

interface MergeFlags {
  model: string;
  adapter: string;
  adapterScale?: number;
  out: string;
}

async function run(flags: MergeFlags): Promise<void> {
  if (resolve(flags.out) === resolve(flags.model)) {
    throw new CliUsageError(
      `Expected --out to be another folder than --model (${flags.model}): merging in place would overwrite the base model`,
    );
  }
  const scale = adapterScale(flags);
  const vit = await loadAdaptedViT(flags.model, flags.adapter, { scale });
  try {
    await saveViT(flags.out, vit);
    const { numLabels, id2label } = vit.config;
    console.log(
      `Wrote ${flags.out}: ${flags.model} with ${flags.adapter} merged${scale === 1 ? '' : ` at scale ${scale}`} (${numLabels} labels: ${id2label.slice(0, 5).join(', ')}${numLabels > 5 ? ', …' : ''})`,
    );
  } finally {
    vit.dispose();
  }
}

export function registerMergeCommand(program: Command): void {
  program
    .command('merge')
    .description(
      'fold an adapter (and a finetune run’s head) into a ViT and write it as a Hugging Face model folder',
    )
    .requiredOption('--model <dir>', 'the base model: config.json + model.safetensors')
    .requiredOption(
      '--adapter <path>',
      'a SuperLoRA adapter file, a finetune output folder (adapter.safetensors + head.safetensors) or a PEFT LoRA / LoKr folder',
    )
    .option(ADAPTER_SCALE_FLAG, ADAPTER_SCALE_HELP, numberFlag(-1000, 1000))
    .requiredOption('--out <dir>', 'the folder to write (config.json + model.safetensors)')
    .action(run);
}
