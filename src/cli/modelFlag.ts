/**
 * `--model <dir>` of every command that runs a ViT: any Hugging Face ViT folder, by default the
 * base model shipped in the package, so that each command works on a fresh install as `finetune` does.
 */
import type { Command } from 'commander';
import { shippedModelDir } from '../vit/shippedModel';

export function addModelFlag(command: Command): Command {
  return command.option(
    '--model <dir>',
    'Hugging Face ViT folder (config.json + model.safetensors); default: the shipped base model',
  );
}

/** The folder --model named, or the shipped base model. */
export function modelDirOf(flags: { model?: string }): string {
  return flags.model ?? shippedModelDir();
}
