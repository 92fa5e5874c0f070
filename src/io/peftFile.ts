/**
 * Hugging Face PEFT's LoRA and LoKr adapter folders, as `PeftModel.save_pretrained` writes them and
 * `PeftModel.from_pretrained` reads them:
 *
 *   adapter_config.json        {"peft_type": "LORA" | "LOKR", "r", "lora_alpha" | "alpha", …}
 *   adapter_model.safetensors  base_model.model.<module>.lora_A.weight [r, in], lora_B.weight [out, r]
 *                              base_model.model.<module>.lokr_w1 | lokr_w1_a, lokr_w1_b,
 *                                                        lokr_w2 | lokr_w2_a, lokr_w2_b
 *                              base_model.model.<module>.<param>   (modules_to_save)
 *
 * Both are read into one form: ΔW of a module = scaling · F_0 ⊗ ⋯ ⊗ F_{K−1} (numpy.kron order),
 * each factor a dense matrix or a low-rank product up · down. LoRA is K = 1 (F_0 = lora_B ·
 * lora_A); LoKr is K = 2 (F_0 = w1, F_1 = w2). scaling = alpha / r (alpha / √r with rsLoRA), with
 * r and alpha overridden per module by `rank_pattern` / `alpha_pattern`. Only adapters of Linear
 * weights are read: DoRA, trained biases, Conv1D (`fan_in_fan_out`), convolution and embedding
 * factors are refused with an error that says so, rather than dropped.
 */
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from './atomicWrite';
import { parseJsonText } from './parseJsonText';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors';
import { widenToFloat32 } from './widenToFloat32';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
/** Every key of a saved PeftModel starts with this (the PeftModel's base_model, then the tuner's model). */
export const PEFT_KEY_PREFIX = 'base_model.model.';

export type PeftType = 'LORA' | 'LOKR';

/** One Kronecker factor: a dense [rows, cols] matrix, or the product up [rows, rank] · down [rank, cols]. */
export type KronFactor =
  | { rows: number; cols: number; rank: null; dense: Float32Array }
  | { rows: number; cols: number; rank: number; up: Float32Array; down: Float32Array };

/** One adapted Linear weight: ΔW = scaling · factors[0] ⊗ factors[1] ⊗ ⋯ */
export interface PeftModule {
  /** The module's name in the base model, e.g. `vit.encoder.layer.0.attention.attention.query`. */
  name: string;
  /** [out, in] of the adapted weight. */
  shape: [number, number];
  scaling: number;
  factors: KronFactor[];
}

export interface PeftAdapter {
  type: PeftType;
  modules: PeftModule[];
  /** Whole tensors trained beside the adapter (PEFT's `modules_to_save`), by name without the prefix. */
  savedModules: Map<string, SafeTensor>;
  /** The config's `base_model_name_or_path`, when it names one. */
  baseModel: string | null;
  /** The weights file's string metadata. */
  metadata: Record<string, string>;
}

/** A PEFT folder that cannot be read; the message names the file and the fault. */
export class PeftFormatError extends Error {
  override name = 'PeftFormatError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** The dense [rows, cols] matrix of a factor (a copy for a low-rank one). */
/**
 * Checks modules handed in through the API (files are checked as they are read): distinct names,
 * a finite scaling, and factors whose arrays have the lengths their shapes say and finite values.
 * A short `up` array would otherwise read as NaN into the parameters, and a NaN scaling would pass
 * the "all scalings equal" test as unequal, both without an error.
 */
export function checkPeftModules(modules: readonly PeftModule[]): void {
  const seen = new Set<string>();
  modules.forEach((module, m) => {
    const where = `modules[${m}] (${JSON.stringify(module.name)})`;
    if (seen.has(module.name)) {
      throw new RangeError(`Expected distinct module names but ${where} repeats an earlier one`);
    }
    seen.add(module.name);
    if (typeof module.scaling !== 'number' || !Number.isFinite(module.scaling)) {
      throw new RangeError(
        `Expected a finite number for ${where}.scaling but received ${String(module.scaling)}`,
      );
    }
    module.factors.forEach((factor, k) => checkFactor(factor, `${where}.factors[${k}]`));
  });
}

function checkFactor(factor: KronFactor, where: string): void {
  const arrays: [string, Float32Array, number][] =
    factor.rank === null
      ? [['dense', factor.dense, factor.rows * factor.cols]]
      : [
          ['up', factor.up, factor.rows * factor.rank],
          ['down', factor.down, factor.rank * factor.cols],
        ];
  if (factor.rank !== null && !(Number.isInteger(factor.rank) && factor.rank >= 1)) {
    throw new RangeError(
      `Expected a positive integer for ${where}.rank but received ${factor.rank}`,
    );
  }
  for (const [name, values, length] of arrays) {
    if (!(values instanceof Float32Array) || values.length !== length) {
      const received = values instanceof Float32Array ? `${values.length} values` : typeof values;
      throw new RangeError(
        `Expected a Float32Array of ${length} values for ${where}.${name} ([${factor.rows}, ${factor.cols}] at rank ${factor.rank ?? 'full'}) but received ${received}`,
      );
    }
    const bad = values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new RangeError(
        `Expected finite values in ${where}.${name} but [${bad}] is ${values[bad]}`,
      );
    }
  }
}

export function denseFactor(factor: KronFactor): Float32Array {
  if (factor.rank === null) return factor.dense;
  const { rows, cols, rank, up, down } = factor;
  const dense = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < rank; j++) {
      const weight = up[r * rank + j] as number;
      if (weight === 0) continue;
      for (let c = 0; c < cols; c++) {
        dense[r * cols + c] =
          (dense[r * cols + c] as number) + weight * (down[j * cols + c] as number);
      }
    }
  }
  return dense;
}

interface PeftConfig {
  type: PeftType;
  r: number;
  alpha: number;
  useRslora: boolean;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  modulesToSave: string[];
  baseModel: string | null;
}

/** What each PEFT type calls its alpha and its factor tensors. */
const LAYOUTS = {
  LORA: { alpha: 'lora_alpha', tensor: /^(.+)\.(lora_A\.weight|lora_B\.weight)$/ },
  LOKR: { alpha: 'alpha', tensor: /^(.+)\.(lokr_w[12](?:_[ab])?)$/ },
} as const;

/** Reads a PEFT LoRA or LoKr adapter folder (or the path of its adapter_config.json). */
export async function readPeftAdapter(location: string): Promise<PeftAdapter> {
  const dir = (await stat(location)).isDirectory() ? location : path.dirname(location);
  const configPath = path.join(dir, PEFT_CONFIG_FILE);
  const weightsPath = path.join(dir, PEFT_WEIGHTS_FILE);
  const config = parseConfig(await readJson(configPath), configPath);
  const weights = await readSafetensors(weightsPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new PeftFormatError(
        weightsPath,
        'not found (only safetensors weights are read: load the adapter in PEFT and save it again with safe_serialization=True)',
      );
    }
    throw error;
  });

  const byModule = new Map<string, Map<string, SafeTensor>>();
  const savedModules = new Map<string, SafeTensor>();
  for (const [key, tensor] of weights.tensors) {
    const name = key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key;
    const factor = LAYOUTS[config.type].tensor.exec(name);
    if (factor) {
      const parts = byModule.get(factor[1] as string) ?? new Map<string, SafeTensor>();
      parts.set(factor[2] as string, tensor);
      byModule.set(factor[1] as string, parts);
    } else if (/\.(lora_embedding_[AB]|lora_magnitude_vector|lokr_t2)\b/.test(name)) {
      throw new PeftFormatError(
        weightsPath,
        `${JSON.stringify(key)} belongs to ${name.includes('magnitude') ? 'DoRA' : 'an embedding or convolution adapter'}: only adapters of Linear weights can be converted`,
      );
    } else if (config.modulesToSave.some((module) => isInModule(name, module))) {
      savedModules.set(name, tensor);
    } else {
      throw new PeftFormatError(
        weightsPath,
        `unexpected tensor ${JSON.stringify(key)}: it is neither a ${config.type === 'LORA' ? 'lora_A / lora_B' : 'lokr_w1 / lokr_w2'} factor nor part of modules_to_save ${JSON.stringify(config.modulesToSave)}`,
      );
    }
  }
  if (byModule.size === 0) {
    throw new PeftFormatError(weightsPath, `holds no ${config.type} factors`);
  }
  const modules = [...byModule].map(([name, parts]) => {
    const rank = patternValue(config.rankPattern, name, configPath) ?? config.r;
    const alpha = patternValue(config.alphaPattern, name, configPath) ?? config.alpha;
    const scaling = alpha / (config.useRslora ? Math.sqrt(rank) : rank);
    const reader = new FactorReader(weightsPath, name, parts);
    const factors =
      config.type === 'LORA'
        ? [reader.lowRank('lora_B.weight', 'lora_A.weight')]
        : [reader.either('lokr_w1'), reader.either('lokr_w2')];
    reader.requireAllUsed();
    for (const factor of factors) {
      if (factor.rank !== null && factor.rank !== rank) {
        throw new PeftFormatError(
          weightsPath,
          `module ${JSON.stringify(name)} has rank ${factor.rank} but ${PEFT_CONFIG_FILE} says r = ${rank}`,
        );
      }
    }
    const shape: [number, number] = [
      factors.reduce((n, f) => n * f.rows, 1),
      factors.reduce((n, f) => n * f.cols, 1),
    ];
    return { name, shape, scaling, factors };
  });
  return {
    type: config.type,
    modules,
    savedModules,
    baseModel: config.baseModel,
    metadata: weights.metadata,
  };
}

/** Reads one module's factor tensors, naming the module and tensor in every error. */
class FactorReader {
  private readonly used = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly module: string,
    private readonly parts: Map<string, SafeTensor>,
  ) {}

  /** Refuses tensors no factor was read from (a dense w1 beside w1_a, say), rather than drop them. */
  requireAllUsed(): void {
    const unused = [...this.parts.keys()].filter((name) => !this.used.has(name));
    if (unused.length > 0) {
      this.fail(`has ${unused.join(', ')} beside the factors it was read from`);
    }
  }

  /** `prefix` as a dense tensor, or as `prefix_a` · `prefix_b`. */
  either(prefix: string): KronFactor {
    return this.parts.has(prefix)
      ? this.dense(prefix)
      : this.lowRank(`${prefix}_a`, `${prefix}_b`, `${prefix} or ${prefix}_a and ${prefix}_b`);
  }

  lowRank(upName: string, downName: string, wanted = `${upName} and ${downName}`): KronFactor {
    const up = this.parts.get(upName);
    const down = this.parts.get(downName);
    if (!up || !down) this.fail(`has no ${wanted}`);
    this.used.add(upName).add(downName);
    const [rows, rank] = this.matrixShape(up, upName);
    const [rankOfDown, cols] = this.matrixShape(down, downName);
    if (rankOfDown !== rank) {
      this.fail(
        `${upName} [${up.shape}] and ${downName} [${down.shape}] do not share an inner dimension`,
      );
    }
    return {
      rows,
      cols,
      rank,
      up: this.values(up, upName),
      down: this.values(down, downName),
    };
  }

  dense(name: string): KronFactor {
    const tensor = this.parts.get(name);
    if (!tensor) return this.fail(`has no ${name}`);
    this.used.add(name);
    const [rows, cols] = this.matrixShape(tensor, name);
    return { rows, cols, rank: null, dense: this.values(tensor, name) };
  }

  private matrixShape(tensor: SafeTensor, name: string): [number, number] {
    if (tensor.shape.length !== 2) this.fail(`${name} has shape [${tensor.shape}], not a matrix`);
    return tensor.shape as [number, number];
  }

  private values(tensor: SafeTensor, name: string): Float32Array {
    const values = widenToFloat32(tensor);
    if (!values) {
      this.fail(`${name}: Expected dtype F32, F16 or BF16 but received ${tensor.dtype}`);
    }
    const bad = values.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) this.fail(`${name} holds ${values[bad]} at index ${bad}`);
    return values;
  }

  private fail(problem: string): never {
    throw new PeftFormatError(this.file, `module ${JSON.stringify(this.module)} ${problem}`);
  }
}

export interface WritePeftOptions {
  /** `base_model_name_or_path` in the config (PEFT loads that model when none is given). */
  baseModel?: string | null;
  /** String metadata for the weights file (`format: "pt"` is always set). */
  metadata?: Record<string, string>;
}

/**
 * Writes a PEFT folder for modules of scaling 1 (alpha = r, so the stored factors are ΔW), and
 * the saved modules under `modules_to_save`. LoRA modules need one low-rank factor each; r is the
 * most common rank (the smallest of equally common ones), and every other module's rank goes into
 * `rank_pattern` and `alpha_pattern` (see `patternKeys`). LoKr modules need two factors: w1 is
 * written dense (PEFT's default, `decompose_both: false`); w2 is written as PEFT will build it from
 * r: dense when r ≥ max(its rows, cols) / 2, else as w2_a · w2_b of rank r. The folder is created if need be; each file is written atomically, the
 * weights first. Returns r, the rank pattern and the number of adapter parameters written.
 */
export async function writePeftAdapter(
  dir: string,
  type: PeftType,
  modules: readonly PeftModule[],
  savedModules: ReadonlyMap<string, SafeTensor>,
  options: WritePeftOptions = {},
): Promise<{ r: number; rankPattern: Record<string, number>; parameters: number }> {
  if (type !== 'LORA' && type !== 'LOKR') {
    throw new RangeError(`Expected "LORA" or "LOKR" for type but received ${JSON.stringify(type)}`);
  }
  checkPeftModules(modules);
  const factorCount = type === 'LORA' ? 1 : 2;
  if (
    modules.length === 0 ||
    modules.some((m) => m.scaling !== 1 || m.factors.length !== factorCount)
  ) {
    throw new RangeError(
      `Expected at least one module, each of scaling 1 and ${factorCount} factor(s), for a PEFT ${type} folder`,
    );
  }
  const r = type === 'LORA' ? loraRank(modules) : lokrRank(modules);
  const rankPattern = type === 'LORA' ? loraRankPattern(modules, r) : {};
  const tensors = new Map<string, SafeTensor>();
  let parameters = 0;
  const put = (module: string, name: string, shape: number[], data: Float32Array): void => {
    parameters += data.length;
    tensors.set(`${PEFT_KEY_PREFIX}${module}.${name}`, { dtype: 'F32', shape, data });
  };
  for (const { name, factors } of modules) {
    if (type === 'LORA') {
      const factor = factors[0] as KronFactor & { rank: number };
      put(name, 'lora_A.weight', [factor.rank, factor.cols], factor.down);
      put(name, 'lora_B.weight', [factor.rows, factor.rank], factor.up);
      continue;
    }
    const [w1, w2] = factors as [KronFactor, KronFactor];
    put(name, 'lokr_w1', [w1.rows, w1.cols], denseFactor(w1));
    if (r >= Math.max(w2.rows, w2.cols) / 2) {
      put(name, 'lokr_w2', [w2.rows, w2.cols], denseFactor(w2));
    } else if (w2.rank === r) {
      put(name, 'lokr_w2_a', [w2.rows, r], w2.up);
      put(name, 'lokr_w2_b', [r, w2.cols], w2.down);
    } else {
      throw new RangeError(
        `Expected w2 of module ${name} to be of rank ${r}: PEFT builds it decomposed at that rank`,
      );
    }
  }
  for (const [name, tensor] of savedModules) tensors.set(`${PEFT_KEY_PREFIX}${name}`, tensor);
  const modulesToSave = [...new Set([...savedModules.keys()].map(moduleOfParameter))];
  const common = {
    peft_type: type,
    task_type: null,
    base_model_name_or_path: options.baseModel ?? null,
    revision: null,
    inference_mode: true,
    r,
    target_modules: modules.map((m) => m.name),
    modules_to_save: modulesToSave.length > 0 ? modulesToSave : null,
    rank_pattern: rankPattern,
    alpha_pattern: rankPattern,
    layers_to_transform: null,
    layers_pattern: null,
  };
  const config =
    type === 'LORA'
      ? {
          ...common,
          lora_alpha: r,
          lora_dropout: 0,
          bias: 'none',
          fan_in_fan_out: false,
          init_lora_weights: true,
          use_rslora: false,
          use_dora: false,
        }
      : {
          ...common,
          alpha: r,
          rank_dropout: 0,
          module_dropout: 0,
          use_effective_conv2d: false,
          decompose_both: false,
          decompose_factor: -1,
          init_weights: true,
        };
  // The atomic writes create the folder, and refuse a `dir` that is a file, naming it.
  await writeSafetensors(path.join(dir, PEFT_WEIGHTS_FILE), tensors, {
    ...options.metadata,
    format: 'pt',
  });
  await writeFileAtomic(path.join(dir, PEFT_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  return { r, rankPattern, parameters };
}

/** The most common rank of the LoRA modules (the smallest of equally common ones). */
function loraRank(modules: readonly PeftModule[]): number {
  const counts = new Map<number, number>();
  for (const module of modules) {
    const rank = module.factors[0]?.rank;
    if (typeof rank !== 'number') {
      throw new RangeError(
        `Expected LoRA module ${module.name} to be one low-rank factor but it is dense`,
      );
    }
    counts.set(rank, (counts.get(rank) ?? 0) + 1);
  }
  let best = Infinity;
  let bestCount = 0;
  for (const [rank, count] of counts) {
    if (count > bestCount || (count === bestCount && rank < best))
      [best, bestCount] = [rank, count];
  }
  return best;
}

/** `rank_pattern` for the modules whose rank is not r (also their `alpha_pattern`: scaling 1). */
function loraRankPattern(modules: readonly PeftModule[], r: number): Record<string, number> {
  const names = modules.map((m) => m.name);
  const keys = patternKeys(names);
  const pattern: Record<string, number> = {};
  modules.forEach((module, i) => {
    const rank = module.factors[0]?.rank as number;
    if (rank !== r) pattern[keys[i] as string] = rank;
  });
  return pattern;
}

/**
 * Keys for PEFT's `rank_pattern` / `alpha_pattern`, one per module, each matching its own module
 * and no other under both rules PEFT has used to look them up: `re.match(rf".*\\.{key}$", name)`
 * (older PEFT) and `re.match(rf"(.*\\.)?({key})$", name)` (current PEFT). The key is the module's name
 * without its first part (`vit.encoder.layer.0.…query` → `encoder.layer.0.…query`), its dots
 * escaped if that alone would also match another module. Where no key can match a module alone
 * under the older rule (a name without a dot, or `a.x` beside `b.x`), the whole escaped name is
 * the key, which only the later rule matches.
 */
export function patternKeys(names: readonly string[]): string[] {
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return names.map((name) => {
    const dot = name.indexOf('.');
    const suffix = dot < 0 ? name : name.slice(dot + 1);
    const matchesOnly = (key: string, required: RegExp[]): boolean => {
      const rules = [olderPatternRule(key), patternRule(key)];
      return (
        required.every((rule) => rule.test(name)) &&
        names.every((other) => other === name || !rules.some((rule) => rule.test(other)))
      );
    };
    for (const key of [suffix, escape(suffix)]) {
      if (matchesOnly(key, [olderPatternRule(key), patternRule(key)])) return key;
    }
    const key = escape(name);
    if (matchesOnly(key, [patternRule(key)])) return key;
    throw new RangeError(
      `No rank_pattern key can match module ${name} alone: another module's name ends with it; give every module one rank`,
    );
  });
}

/** Older PEFT's lookup of a pattern key (`re.match(rf".*\.{key}$", name)`). */
function olderPatternRule(key: string): RegExp {
  return new RegExp(`^.*\\.${key}$`);
}

/** PEFT's lookup of a pattern key (`re.match(rf"(.*\.)?({key})$", name)`). */
function patternRule(key: string): RegExp {
  return new RegExp(`^(.*\\.)?(${key})$`);
}

/**
 * The r that makes PEFT build every w2 as given: the shared rank of the low-rank w2 factors, or,
 * when every w2 is dense, one large enough that PEFT keeps them dense.
 */
function lokrRank(modules: readonly PeftModule[]): number {
  const second = modules.map((m) => m.factors[1] as KronFactor);
  const ranks = new Set(second.map((f) => f.rank));
  const [rank] = ranks;
  if (ranks.size === 1 && typeof rank === 'number') return rank;
  if (ranks.size === 1 && rank === null) {
    return Math.max(...second.map((f) => Math.ceil(Math.max(f.rows, f.cols) / 2)));
  }
  throw new RangeError('Expected every LoKr w2 to be dense, or low-rank of the same rank');
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
      expression = patternRule(pattern);
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

/** A JSON file of the folder; a syntax error is one line with its position (parseJsonText). */
async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return parseJsonText(text);
  } catch (error) {
    throw new PeftFormatError(file, `is not valid JSON: ${(error as Error).message}`);
  }
}

function parseConfig(json: unknown, file: string): PeftConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new PeftFormatError(file, 'Expected a JSON object');
  }
  const config = json as Record<string, unknown>;
  const type = config.peft_type;
  if (type !== 'LORA' && type !== 'LOKR') {
    throw new PeftFormatError(
      file,
      `Expected peft_type "LORA" or "LOKR" but received ${JSON.stringify(type)}: only PEFT LoRA and LoKr adapters can be converted`,
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
    type,
    r: positive('r'),
    alpha: positive(LAYOUTS[type].alpha),
    useRslora: config.use_rslora === true,
    rankPattern: numberMap('rank_pattern'),
    alphaPattern: numberMap('alpha_pattern'),
    modulesToSave: saved as string[],
    baseModel: typeof base === 'string' && base.length > 0 ? base : null,
  };
}
