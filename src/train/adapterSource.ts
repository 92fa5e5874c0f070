/**
 * What an adapter path names, as every command and loadAdaptedViT take it: a SuperLoRA adapter file;
 * a run folder (its adapter.safetensors, and its head.safetensors when there is one); or a Hugging
 * Face PEFT LoRA / LoKr folder (adapter_config.json + adapter_model.safetensors), converted exactly
 * (src/interop/peft.ts), with a `classifier` among its modules_to_save as the head.
 */
import { existsSync, statSync } from 'fs';
import { join } from 'path';
import type { Plan } from '../createPlan';
import { adapterFromPeft } from '../interop/peft';
import { AdapterFileError, loadAdapter } from '../io/adapterFile';
import {
  PEFT_CONFIG_FILE,
  PeftFormatError,
  readPeftAdapter,
  type PeftAdapter,
  type PeftType,
} from '../io/peftFile';
import type { SafeTensor } from '../io/safetensors';
import { classifierHead, parseLabels, readHeadFile, type ClassifierHead } from './headFile';
import { ADAPTER_FILE, HEAD_FILE } from './outputFiles';

/** Safetensors metadata that carries the head's label names through a PEFT weights file. */
export const PEFT_LABELS_METADATA = 'superlora_labels';
/** The module PEFT's modules_to_save holds the classifier head in. */
export const HEAD_MODULE = 'classifier';

export interface AdapterSource {
  format: 'superlora' | 'peft';
  /** The file or folder the adapter came from. */
  adapterPath: string;
  plan: Plan;
  params: Float32Array;
  /** The classifier head, when the path has one; headPath says where it came from. */
  head: ClassifierHead | null;
  headPath: string | null;
}

/** The classifier head among a PEFT adapter's modules_to_save; any other saved module is refused. */
function peftClassifierHead(peft: PeftAdapter, source: string): ClassifierHead | null {
  const head = new Map<string, SafeTensor>();
  const others: string[] = [];
  for (const [name, tensor] of peft.savedModules) {
    if (name.startsWith(`${HEAD_MODULE}.`)) head.set(name, tensor);
    else others.push(name);
  }
  if (others.length > 0) {
    throw new PeftFormatError(
      source,
      `modules_to_save other than the ${HEAD_MODULE} head cannot be carried into a SuperLoRA adapter: ${others.join(', ')}`,
    );
  }
  if (head.size === 0) return null;
  return classifierHead(head, source, parseLabels(peft.metadata[PEFT_LABELS_METADATA]));
}

/** A PEFT LoRA / LoKr folder as a SuperLoRA adapter and head, and the PEFT type it was. */
export async function readPeftSource(
  path: string,
): Promise<AdapterSource & { peftType: PeftType }> {
  const peft = await readPeftAdapter(path);
  const head = peftClassifierHead(peft, path);
  const { plan, params } = adapterFromPeft(peft.modules);
  return {
    format: 'peft',
    peftType: peft.type,
    adapterPath: path,
    plan,
    params,
    head,
    headPath: head ? path : null,
  };
}

/** Reads the adapter (and head) a path names; dispose source.plan when done. */
export async function readAdapterSource(path: string): Promise<AdapterSource> {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  if (isDir && !existsSync(join(path, ADAPTER_FILE))) {
    if (!existsSync(join(path, PEFT_CONFIG_FILE))) {
      throw new AdapterFileError(
        path,
        `a folder with neither ${ADAPTER_FILE} (a run folder) nor ${PEFT_CONFIG_FILE} (a PEFT folder)`,
      );
    }
    return readPeftSource(path);
  }
  const adapterPath = isDir ? join(path, ADAPTER_FILE) : path;
  const headPath = isDir && existsSync(join(path, HEAD_FILE)) ? join(path, HEAD_FILE) : null;
  const head = headPath ? await readHeadFile(headPath) : null;
  const { plan, params } = await loadAdapter(adapterPath);
  return { format: 'superlora', adapterPath, plan, params, head, headPath };
}
