/** File names of a fine-tuning run's output folder, and how a path names an adapter and its head. */
import { existsSync, statSync } from 'fs';
import { join } from 'path';

export const ADAPTER_FILE = 'adapter.safetensors';
export const HEAD_FILE = 'head.safetensors';
export const SUMMARY_FILE = 'summary.json';

/**
 * An adapter path as the CLI takes it: an adapter .safetensors file (no head), or a run folder
 * (its adapter.safetensors, and its head.safetensors when there is one).
 */
export function adapterAndHead(path: string): { adapterFile: string; headFile: string | null } {
  if (!(existsSync(path) && statSync(path).isDirectory()))
    return { adapterFile: path, headFile: null };
  const headFile = join(path, HEAD_FILE);
  return {
    adapterFile: join(path, ADAPTER_FILE),
    headFile: existsSync(headFile) ? headFile : null,
  };
}
