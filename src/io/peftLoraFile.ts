/**
 * Hugging Face PEFT's LoRA adapter folder, as `PeftModel.save_pretrained` writes it and
 * `PeftModel.from_pretrained` reads it:
 *
 *   adapter_config.json        {"peft_type": "LORA", "r", "lora_alpha", "target_modules", …}
 *   adapter_model.safetensors  base_model.model.<module>.lora_A.weight  [r, in]
 *                              base_model.model.<module>.lora_B.weight  [out, r]
 *                              base_model.model.<module>.<param>        (modules_to_save)
 *
 * and ΔW of a module = scaling · lora_B · lora_A with scaling = alpha / r (alpha / √r with
 * rsLoRA), where r and alpha may be overridden per module by `rank_pattern` / `alpha_pattern`.
 * Only plain LoRA on Linear weights is read: DoRA, trained biases, Conv1D (`fan_in_fan_out`) and
 * embedding LoRA are refused with an error that says so, rather than dropped.
 */
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from './atomicWrite';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors';
import { widenToFloat32 } from './widenToFloat32';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
/** Every key of a saved PeftModel starts with this (the PeftModel's base_model, then the LoraModel's model). */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** One adapted Linear weight: ΔW = scaling · up · down. */
export interface PeftLoraModule {
  /** The module's name in the base model, e.g. `vit.encoder.layer.0.attention.attention.query`. */
  name: string;
  rank: number;
  /** [out, in] of the adapted weight. */
  shape: [number, number];
  /** lora_B, row-major [out, rank]. */
  up: Float32Array;
  /** lora_A, row-major [rank, in]. */
  down: Float32Array;
  scaling: number;
}

export interface PeftLoraAdapter {
  modules: PeftLoraModule[];
  /** Whole tensors trained beside the adapter (PEFT's `modules_to_save`), by name without the prefix. */
  savedModules: Map<string, SafeTensor>;
  /** The config's `base_model_name_or_path`, when it names one. */
  baseModel: string | null;
  /** The weights file's string metadata. */
  metadata: Record<string, string>;
}

/** A PEFT folder that cannot be read as a LoRA adapter; the message names the file and the fault. */
export class PeftFormatError extends Error {
  override name = 'PeftFormatError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

interface LoraConfigJson {
  r: number;
  alpha: number;
  useRslora: boolean;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  modulesToSave: string[];
  baseModel: string | null;
}

/** Reads a PEFT LoRA adapter folder (or the path of its adapter_config.json). */
export async function readPeftLora(location: string): Promise<PeftLoraAdapter> {
  const dir = (await stat(location)).isDirectory() ? location : path.dirname(location);
  const configPath = path.join(dir, PEFT_CONFIG_FILE);
  const weightsPath = path.join(dir, PEFT_WEIGHTS_FILE);
  const config = parseLoraConfig(await readJson(configPath), configPath);
  const weights = await readSafetensors(weightsPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new PeftFormatError(
        weightsPath,
        'not found (only safetensors weights are read: load the adapter in PEFT and save it again with safe_serialization=True)',
      );
    }
    throw error;
  });

  const halves = new Map<string, { A?: SafeTensor; B?: SafeTensor }>();
  const savedModules = new Map<string, SafeTensor>();
  for (const [key, tensor] of weights.tensors) {
    const name = key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
    const lora = /^(.+)\.lora_([AB])\.weight$/.exec(name);
    if (lora) {
      const entry = halves.get(lora[1]!) ?? {};
      entry[lora[2] as 'A' | 'B'] = tensor;
      halves.set(lora[1]!, entry);
    } else if (/\.lora_(embedding_[AB]|magnitude_vector)\b/.test(name)) {
      throw new PeftFormatError(
        weightsPath,
        `${JSON.stringify(key)} is ${name.includes('magnitude') ? 'a DoRA magnitude' : 'an embedding LoRA factor'}: only plain LoRA on Linear weights can be converted`,
      );
    } else if (config.modulesToSave.some((module) => isInModule(name, module))) {
      savedModules.set(name, tensor);
    } else {
      throw new PeftFormatError(
        weightsPath,
        `unexpected tensor ${JSON.stringify(key)}: it is neither a lora_A / lora_B weight nor part of modules_to_save ${JSON.stringify(config.modulesToSave)}`,
      );
    }
  }
  if (halves.size === 0) {
    throw new PeftFormatError(weightsPath, 'holds no lora_A / lora_B weights');
  }

  const modules: PeftLoraModule[] = [];
  for (const [name, { A, B }] of halves) {
    if (!A || !B) {
      throw new PeftFormatError(
        weightsPath,
        `module ${JSON.stringify(name)} has lora_${A ? 'A' : 'B'} but no lora_${A ? 'B' : 'A'}`,
      );
    }
    const down = floatValues(A, weightsPath, `${name}.lora_A.weight`);
    const up = floatValues(B, weightsPath, `${name}.lora_B.weight`);
    const [rank, cols] = A.shape as [number, number];
    const [rows, rankOfB] = B.shape as [number, number];
    if (A.shape.length !== 2 || B.shape.length !== 2 || rankOfB !== rank) {
      throw new PeftFormatError(
        weightsPath,
        `module ${JSON.stringify(name)}: expected lora_A [r, in] and lora_B [out, r] with the same r but received [${A.shape}] and [${B.shape}]`,
      );
    }
    const expectedRank = patternValue(config.rankPattern, name, configPath) ?? config.r;
    if (rank !== expectedRank) {
      throw new PeftFormatError(
        weightsPath,
        `module ${JSON.stringify(name)} has rank ${rank} but ${PEFT_CONFIG_FILE} says r = ${expectedRank}`,
      );
    }
    const alpha = patternValue(config.alphaPattern, name, configPath) ?? config.alpha;
    const scaling = alpha / (config.useRslora ? Math.sqrt(rank) : rank);
    modules.push({ name, rank, shape: [rows, cols], up, down, scaling });
  }
  return { modules, savedModules, baseModel: config.baseModel, metadata: weights.metadata };
}

export interface WritePeftLoraOptions {
  /** `base_model_name_or_path` in the config (PEFT loads that model when none is given). */
  baseModel?: string | null;
  /** String metadata for the weights file (`format: "pt"` is always set). */
  metadata?: Record<string, string>;
}

/**
 * Writes a PEFT LoRA folder: every module at one rank r with lora_alpha = r (scaling 1, so
 * `up · down` is ΔW as stored), and the saved modules under `modules_to_save`. Each file is written
 * atomically, the weights first.
 */
export async function writePeftLora(
  dir: string,
  modules: readonly PeftLoraModule[],
  savedModules: ReadonlyMap<string, SafeTensor>,
  options: WritePeftLoraOptions = {},
): Promise<void> {
  const rank = modules[0]?.rank;
  if (rank === undefined || modules.some((m) => m.rank !== rank || m.scaling !== 1)) {
    throw new RangeError(
      'Expected at least one module, all of one rank and with scaling 1, for a PEFT LoRA folder',
    );
  }
  const tensors = new Map<string, SafeTensor>();
  for (const module of modules) {
    const [rows, cols] = module.shape;
    tensors.set(`${PEFT_KEY_PREFIX}${module.name}.lora_A.weight`, {
      dtype: 'F32',
      shape: [rank, cols],
      data: module.down,
    });
    tensors.set(`${PEFT_KEY_PREFIX}${module.name}.lora_B.weight`, {
      dtype: 'F32',
      shape: [rows, rank],
      data: module.up,
    });
  }
  for (const [name, tensor] of savedModules) tensors.set(`${PEFT_KEY_PREFIX}${name}`, tensor);
  const modulesToSave = [...new Set([...savedModules.keys()].map(moduleOfParameter))];
  const config = {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: options.baseModel ?? null,
    revision: null,
    inference_mode: true,
    r: rank,
    lora_alpha: rank,
    lora_dropout: 0,
    target_modules: modules.map((m) => m.name),
    modules_to_save: modulesToSave.length > 0 ? modulesToSave : null,
    bias: 'none',
    fan_in_fan_out: false,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
    layers_to_transform: null,
    layers_pattern: null,
  };
  await writeSafetensors(path.join(dir, PEFT_WEIGHTS_FILE), tensors, {
    ...options.metadata,
    format: 'pt',
  });
  await writeFileAtomic(path.join(dir, PEFT_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
}

/** `classifier.weight` → `classifier`. */
function moduleOfParameter(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? name : name.slice(0, dot);
}

function isInModule(name: string, module: string): boolean {
  return name === module || name.startsWith(`${module}.`) || name.includes(`.${module}.`);
}

/** PEFT's pattern lookup: an exact module name first, then a regular expression on a suffix. */
function patternValue(
  patterns: Record<string, number>,
  name: string,
  configPath: string,
): number | undefined {
  if (patterns[name] !== undefined) return patterns[name];
  for (const [pattern, value] of Object.entries(patterns)) {
    let expression: RegExp;
    try {
      expression = new RegExp(`^(.*\\.)?(${pattern})$`);
    } catch (error) {
      throw new PeftFormatError(
        configPath,
        `pattern ${JSON.stringify(pattern)} is not a regular expression: ${(error as Error).message}`,
      );
    }
    if (expression.test(name)) return value;
  }
  return undefined;
}

function floatValues(tensor: SafeTensor, file: string, name: string): Float32Array {
  const values = widenToFloat32(tensor);
  if (!values) {
    throw new PeftFormatError(
      file,
      `Expected dtype F32, F16 or BF16 for ${JSON.stringify(name)} but received ${tensor.dtype}`,
    );
  }
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) {
    throw new PeftFormatError(file, `${JSON.stringify(name)} holds ${values[bad]} at index ${bad}`);
  }
  return values;
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PeftFormatError(file, `is not valid JSON: ${(error as Error).message}`);
  }
}

function parseLoraConfig(json: unknown, file: string): LoraConfigJson {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PeftFormatError(file, 'Expected a JSON object');
  }
  const config = json as Record<string, unknown>;
  if (config.peft_type !== 'LORA') {
    throw new PeftFormatError(
      file,
      `Expected peft_type "LORA" but received ${JSON.stringify(config.peft_type)}: only PEFT LoRA adapters can be converted`,
    );
  }
  const refuse = (field: string, value: unknown, why: string): never => {
    throw new PeftFormatError(file, `${field} is ${JSON.stringify(value)}: ${why}`);
  };
  if (config.use_dora === true) refuse('use_dora', true, 'DoRA adapters cannot be converted');
  if (config.fan_in_fan_out === true) {
    refuse('fan_in_fan_out', true, 'only Linear weights in the [out, in] layout can be adapted');
  }
  if (config.bias !== undefined && config.bias !== 'none') {
    refuse('bias', config.bias, 'adapters that train biases cannot be converted');
  }
  if (config.lora_bias === true) refuse('lora_bias', true, 'a LoRA bias cannot be converted');
  const positive = (field: string): number => {
    const value = config[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      return refuse(field, value, 'expected a positive number');
    }
    return value;
  };
  const numberMap = (field: string): Record<string, number> => {
    const value = config[field] ?? {};
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      Object.values(value).some((v) => typeof v !== 'number' || !Number.isFinite(v))
    ) {
      return refuse(field, value, 'expected an object of module patterns to numbers');
    }
    return value as Record<string, number>;
  };
  const saved = config.modules_to_save ?? [];
  if (!Array.isArray(saved) || saved.some((m) => typeof m !== 'string')) {
    refuse('modules_to_save', saved, 'expected a list of module names');
  }
  const base = config.base_model_name_or_path;
  return {
    r: positive('r'),
    alpha: positive('lora_alpha'),
    useRslora: config.use_rslora === true,
    rankPattern: numberMap('rank_pattern'),
    alphaPattern: numberMap('alpha_pattern'),
    modulesToSave: saved as string[],
    baseModel: typeof base === 'string' && base.length > 0 ? base : null,
  };
}
