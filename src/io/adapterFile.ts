/**
 * The adapter file (SPEC §11): one safetensors file with the config and targets in its metadata and
 * every parameter tensor of SPEC §10 under its name. Fixed tables may be embedded; when present
 * they replace the seeded ones. The reader rejects anything that does not match what the config
 * and targets imply, naming the file and what was wrong.
 */
import { canonicalConfig, ConfigError, type Target } from '../config';
import { checkPlan, createPlan, type Plan } from '../createPlan';
import type { FastfoodTable, TableOverrides } from '../tables';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors';

export const ADAPTER_FORMAT = 'superlora';
export const ADAPTER_VERSION = '1';

/** An adapter file that cannot be used; the message names the file and the fault. */
export class AdapterFileError extends Error {
  override name = 'AdapterFileError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

export interface SaveAdapterOptions {
  /**
   * Write the fixed tables (fastfood B, π, Gv and the shuffle σ) into the file so that tools that
   * do not implement SPEC §9 can read it. Tables that came from a file are always written back.
   */
  embedTables?: boolean;
}

const tableNames = {
  signs: (size: number) => `projection.L${size}.B`,
  perm: (size: number) => `projection.L${size}.perm`,
  gaussians: (size: number) => `projection.L${size}.G`,
  shuffle: 'shuffle.perm',
};

/** Writes an adapter atomically (temporary file, then rename). */
export async function saveAdapter(
  path: string,
  plan: Plan,
  params: Float32Array,
  options: SaveAdapterOptions = {},
): Promise<void> {
  checkPlan(plan);
  if (!(params instanceof Float32Array) || params.length !== plan.numParams) {
    throw new RangeError(
      `Expected a Float32Array of ${plan.numParams} values for params but received ` +
        (params instanceof Float32Array ? `${params.length} values` : typeof params),
    );
  }
  // The write finishes after this returns: a copy taken now is what lands in the file, whatever
  // the caller does to params meanwhile (a training step).
  const values = params.slice();
  const tensors = new Map<string, SafeTensor>();
  for (const entry of plan.paramLayout) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const data = values.subarray(entry.offset, entry.offset + count);
    // loadAdapter refuses non-finite values, so such a file could never be read back.
    const bad = data.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) {
      throw new RangeError(
        `Expected finite params but ${entry.name}[${bad}] (params[${entry.offset + bad}]) is ${data[bad]}`,
      );
    }
    tensors.set(entry.name, { dtype: 'F32', shape: entry.shape, data });
  }
  const embed = options.embedTables === true;
  for (const size of plan.layout.projectionSizes) {
    if (!embed && !plan.tables.isFromFile('fastfood', size)) continue;
    const table = plan.tables.fastfood(size);
    tensors.set(tableNames.signs(size), { dtype: 'F32', shape: [size], data: table.signs });
    tensors.set(tableNames.perm(size), { dtype: 'I32', shape: [size], data: table.perm });
    tensors.set(tableNames.gaussians(size), { dtype: 'F32', shape: [size], data: table.gaussians });
  }
  if (plan.config.shuffle && (embed || plan.tables.isFromFile('shuffle'))) {
    const sigma = plan.tables.shuffle();
    tensors.set(tableNames.shuffle, { dtype: 'I32', shape: [sigma.length], data: sigma });
  }
  await writeSafetensors(path, tensors, {
    format: ADAPTER_FORMAT,
    version: ADAPTER_VERSION,
    config: JSON.stringify(canonicalConfig(plan.config)),
    targets: JSON.stringify(plan.targets),
  });
}

function parseJsonField(path: string, metadata: Record<string, string>, field: string): unknown {
  const text = metadata[field];
  if (text === undefined) throw new AdapterFileError(path, `metadata has no "${field}" entry`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AdapterFileError(
      path,
      `metadata "${field}" is not valid JSON (${(error as Error).message})`,
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A permutation table as Int32Array, from I32 or I64 storage. */
function permutationData(path: string, name: string, tensor: SafeTensor): Int32Array {
  if (tensor.dtype === 'I32') return tensor.data;
  if (tensor.dtype === 'I64') {
    return Int32Array.from(tensor.data, (v) => {
      if (v < 0n || v > 2147483647n)
        throw new AdapterFileError(path, `${name} has out-of-range entry ${v}`);
      return Number(v);
    });
  }
  throw new AdapterFileError(path, `${name} has dtype ${tensor.dtype}; expected I32 or I64`);
}

function floatData(path: string, name: string, tensor: SafeTensor): Float32Array {
  if (tensor.dtype !== 'F32') {
    throw new AdapterFileError(path, `${name} has dtype ${tensor.dtype}; expected F32`);
  }
  return tensor.data;
}

/** Reads and checks an adapter; the plan carries any tables the file embeds. */
export async function loadAdapter(path: string): Promise<{ plan: Plan; params: Float32Array }> {
  const { metadata, tensors } = await readSafetensors(path);
  if (metadata.format !== ADAPTER_FORMAT) {
    throw new AdapterFileError(
      path,
      `metadata "format" is ${JSON.stringify(metadata.format)}; expected "${ADAPTER_FORMAT}" (is this a superlora adapter?)`,
    );
  }
  if (metadata.version !== ADAPTER_VERSION) {
    throw new AdapterFileError(
      path,
      `metadata "version" is ${JSON.stringify(metadata.version)}; this superlora reads version ${ADAPTER_VERSION}`,
    );
  }
  const config = parseJsonField(path, metadata, 'config');
  const targets = parseJsonField(path, metadata, 'targets') as Target[];

  let plan: Plan;
  try {
    plan = createPlan(config as never, targets);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new AdapterFileError(path, `invalid metadata: ${error.message}`);
    throw error;
  }

  const expected = new Set(plan.paramLayout.map((entry) => entry.name));
  const overrides: TableOverrides = {};
  const fastfood = new Map<number, Partial<FastfoodTable>>();
  for (const [name, tensor] of tensors) {
    if (expected.has(name)) continue;
    const tableMatch = /^projection\.L(\d+)\.(B|perm|G)$/.exec(name);
    const size = tableMatch ? Number(tableMatch[1]) : NaN;
    if (tableMatch && plan.layout.projectionSizes.includes(size)) {
      if (!sameShape(tensor.shape, [size])) {
        throw new AdapterFileError(path, `${name} has shape [${tensor.shape}]; expected [${size}]`);
      }
      const table = fastfood.get(size) ?? { size };
      if (tableMatch[2] === 'B') table.signs = floatData(path, name, tensor);
      else if (tableMatch[2] === 'G') table.gaussians = floatData(path, name, tensor);
      else table.perm = permutationData(path, name, tensor);
      fastfood.set(size, table);
    } else if (name === tableNames.shuffle && plan.config.shuffle) {
      if (!sameShape(tensor.shape, [plan.deltaSize])) {
        throw new AdapterFileError(
          path,
          `${name} has shape [${tensor.shape}]; expected [${plan.deltaSize}]`,
        );
      }
      overrides.shuffle = permutationData(path, name, tensor);
    } else {
      throw new AdapterFileError(path, `unexpected tensor "${name}" for this config and targets`);
    }
  }
  if (fastfood.size > 0) {
    overrides.fastfood = new Map();
    for (const [size, table] of fastfood) {
      if (!table.signs || !table.perm || !table.gaussians) {
        throw new AdapterFileError(
          path,
          `projection.L${size} needs all of B, perm and G when any is present`,
        );
      }
      overrides.fastfood.set(size, table as FastfoodTable);
    }
  }

  const params = new Float32Array(plan.numParams);
  for (const entry of plan.paramLayout) {
    const tensor = tensors.get(entry.name);
    if (!tensor) throw new AdapterFileError(path, `missing tensor "${entry.name}"`);
    if (!sameShape(tensor.shape, entry.shape)) {
      throw new AdapterFileError(
        path,
        `tensor "${entry.name}" has shape [${tensor.shape}]; the config and targets imply [${entry.shape}]`,
      );
    }
    const data = floatData(path, entry.name, tensor);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new AdapterFileError(
        path,
        `tensor "${entry.name}" has a non-finite value at index ${bad}`,
      );
    params.set(data, entry.offset);
  }
  plan.dispose();
  try {
    return { plan: createPlan(plan.config, plan.targets, { tables: overrides }), params };
  } catch (error) {
    if (error instanceof ConfigError)
      throw new AdapterFileError(path, `invalid tables: ${error.message}`);
    throw error;
  }
}
