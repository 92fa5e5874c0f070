/**
 * SuperLoRA configuration (SPEC §2): the user-facing shape, its validation and its defaults.
 * Validation here covers every field on its own; checks that need the targets (group sizes, natural
 * folds) live in `plan.ts`. Nothing is silently clamped.
 */

import { valueText } from './valueText';
import { ownFields } from './ownFields';

export type Grouping = 'weight' | 'layer' | number;
export type SplitRank = number | 'full';
export type CoreKind = 'identity' | 'dense';
export type ReshapeKind = 'square' | 'natural';

/** A config as a user writes it: every field optional, as in SPEC §2. */
export interface SuperLoraConfig {
  grouping?: Grouping;
  order?: number;
  splits?: number;
  rank?: number | SplitRank[];
  core?: CoreKind;
  reshape?: ReshapeKind;
  projection?: { ratio: number };
  shuffle?: boolean;
  scale?: number;
  seed?: number;
}

/** A validated config with every default filled in and `rank` expanded to one entry per split. */
export interface ResolvedConfig {
  grouping: Grouping;
  order: number;
  splits: number;
  rank: SplitRank[];
  core: CoreKind;
  reshape: ReshapeKind;
  projection: { ratio: number } | null;
  shuffle: boolean;
  scale: number;
  seed: number;
}

/** One weight matrix to adapt (SPEC §1), `shape` = [out, in] as in PyTorch `Linear.weight`. */
export interface Target {
  name: string;
  shape: [number, number];
  layer: string | number;
}

/** A config or target list that breaks the contract; the message names the field and the value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The header key safetensors keeps for metadata; no tensor, so no target, may be named so. */
const SAFETENSORS_METADATA_KEY = '__metadata__';

const CONFIG_FIELDS = [
  'grouping',
  'order',
  'splits',
  'rank',
  'core',
  'reshape',
  'projection',
  'shuffle',
  'scale',
  'seed',
] as const;

function fail(field: string, value: unknown, expected: string): never {
  throw new ConfigError(`Expected ${expected} for ${field} but received ${valueText(value)}`);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveGrouping(value: unknown): Grouping {
  if (value === undefined) return 'weight';
  if (value === 'weight' || value === 'layer' || isPositiveInteger(value)) return value;
  return fail('config.grouping', value, '"weight", "layer" or an integer G ≥ 1');
}

function resolveRank(value: unknown, splits: number): SplitRank[] {
  if (value === undefined) return new Array<SplitRank>(splits).fill(4);
  if (isPositiveInteger(value)) return new Array<SplitRank>(splits).fill(value);
  if (!Array.isArray(value)) {
    return fail('config.rank', value, 'an integer ≥ 1 or an array of one entry per split');
  }
  if (value.length !== splits) {
    return fail('config.rank', value, `an array of ${splits} entries (config.splits = ${splits})`);
  }
  return value.map((entry: unknown, k): SplitRank => {
    if (entry === 'full' || isPositiveInteger(entry)) return entry;
    return fail(`config.rank[${k}]`, entry, 'an integer ≥ 1 or "full"');
  });
}

function resolveProjection(value: unknown): { ratio: number } | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) return fail('config.projection', value, 'an object { "ratio": ρ }');
  const fields = ownFields(value);
  for (const key of Object.keys(fields)) {
    if (key !== 'ratio')
      fail(`config.projection.${key}`, fields[key], 'no such field (only "ratio")');
  }
  const ratio = fields.ratio;
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    return fail('config.projection.ratio', ratio, 'a number with 0 < ρ ≤ 1');
  }
  return { ratio };
}

/** Validates a user config (SPEC §2) and fills in the defaults. */
export function resolveConfig(value: unknown): ResolvedConfig {
  if (value === undefined) value = {};
  if (!isRecord(value)) return fail('config', value, 'an object');
  const config = ownFields(value);
  for (const key of Object.keys(config)) {
    if (!(CONFIG_FIELDS as readonly string[]).includes(key)) {
      fail(`config.${key}`, config[key], `a known field (${CONFIG_FIELDS.join(', ')})`);
    }
  }
  const grouping = resolveGrouping(config.grouping);
  // undefined is the default; null is a wrong value, not "absent" (only projection: null means none).
  const order = config.order === undefined ? 2 : config.order;
  if (!isPositiveInteger(order)) fail('config.order', order, 'an integer ≥ 1');
  const splits = config.splits === undefined ? 1 : config.splits;
  if (!isPositiveInteger(splits)) fail('config.splits', splits, 'an integer ≥ 1');
  const rank = resolveRank(config.rank, splits);
  const core = config.core === undefined ? (order === 2 ? 'identity' : 'dense') : config.core;
  if (core !== 'identity' && core !== 'dense') {
    fail('config.core', core, '"identity" or "dense"');
  }
  const reshape = config.reshape === undefined ? 'square' : config.reshape;
  if (reshape !== 'square' && reshape !== 'natural') {
    fail('config.reshape', reshape, '"square" or "natural"');
  }
  const projection = resolveProjection(config.projection);
  const shuffle = config.shuffle === undefined ? false : config.shuffle;
  if (typeof shuffle !== 'boolean') fail('config.shuffle', shuffle, 'a boolean');
  const scale = config.scale === undefined ? 1 : config.scale;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    fail('config.scale', scale, 'a finite number');
  }
  const seed = config.seed === undefined ? 0 : config.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    fail('config.seed', seed, 'an integer 0 ≤ seed < 2^32');
  }
  if (reshape === 'natural') {
    if (order !== 2) fail('config.order', order, '2 with reshape "natural"');
    if (projection) fail('config.projection', projection, 'no projection with reshape "natural"');
    if (typeof grouping === 'number') {
      fail('config.grouping', grouping, '"weight" or "layer" with reshape "natural"');
    }
  }
  return { grouping, order, splits, rank, core, reshape, projection, shuffle, scale, seed };
}

/** Validates a target list (SPEC §1): non-empty, unique names, positive integer shapes. */
export function validateTargets(targets: unknown): Target[] {
  if (!Array.isArray(targets) || targets.length === 0) {
    return fail('targets', targets, 'a non-empty array of { name, shape: [out, in], layer }');
  }
  const names = new Set<string>();
  return targets.map((value: unknown, t): Target => {
    const where = `targets[${t}]`;
    if (!isRecord(value)) return fail(where, value, 'an object { name, shape, layer }');
    const target = ownFields(value);
    for (const key of Object.keys(target)) {
      if (key !== 'name' && key !== 'shape' && key !== 'layer') {
        fail(`${where}.${key}`, target[key], 'a known field (name, shape, layer)');
      }
    }
    const { name, shape, layer } = target;
    if (typeof name !== 'string' || name.length === 0) {
      fail(`${where}.name`, name, 'a non-empty string');
    }
    // ΔW files store one tensor per target under its name, and safetensors keeps this key for the
    // header's metadata: a target so named would be accepted here and fail only when ΔW is written.
    if (name === SAFETENSORS_METADATA_KEY) {
      fail(
        `${where}.name`,
        name,
        'a name other than "__metadata__" (safetensors reserves that key for metadata)',
      );
    }
    if (names.has(name)) fail(`${where}.name`, name, 'a name not used by an earlier target');
    names.add(name);
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every(isPositiveInteger)) {
      fail(`${where}.shape`, shape, 'two integers [out, in], each ≥ 1');
    }
    if (!(typeof layer === 'string' || (typeof layer === 'number' && Number.isFinite(layer)))) {
      fail(`${where}.layer`, layer, 'a string or a number');
    }
    return { name, shape: [shape[0] as number, shape[1] as number], layer };
  });
}

/** The config with every field explicit: what adapter files store, so no default can drift. */
export function canonicalConfig(config: ResolvedConfig): SuperLoraConfig {
  const out: SuperLoraConfig = {
    grouping: config.grouping,
    order: config.order,
    splits: config.splits,
    rank: [...config.rank],
    core: config.core,
    reshape: config.reshape,
  };
  if (config.projection) out.projection = { ratio: config.projection.ratio };
  out.shuffle = config.shuffle;
  out.scale = config.scale;
  out.seed = config.seed;
  return out;
}
