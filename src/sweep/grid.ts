/**
 * A sweep grid: named adapter configs, each tagged with the family its plot frontier belongs to.
 * A `--grid FILE` is JSON of this shape; built-in grids are in `namedGrids.ts`.
 */
import { ConfigError, resolveConfig, type SuperLoraConfig } from '../config';
import { SweepFormatError } from './sweepErrors';

export interface GridEntry {
  /** Unique within the grid; names the run folder and the results row. */
  name: string;
  /** The plot legend and the Pareto frontier it belongs to, e.g. "LoRA", "SuperLoRA (2D)". */
  family: string;
  config: SuperLoraConfig;
}

export interface SweepGrid {
  name: string;
  configs: GridEntry[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A run folder is named after its entry, so names must be safe file names. */
const ENTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Validates a grid (every config is checked with `resolveConfig`); `source` names it in errors. */
export function parseGrid(value: unknown, source: string): SweepGrid {
  const fail = (where: string, received: unknown, expected: string): never => {
    throw new SweepFormatError(
      `${source}: expected ${expected} for ${where} but received ${JSON.stringify(received)}`,
    );
  };
  if (!isRecord(value)) return fail('the grid', value, 'an object { name, configs }');
  for (const key of Object.keys(value)) {
    if (key !== 'name' && key !== 'configs') {
      fail(key, value[key], 'a known field (name, configs)');
    }
  }
  const { name, configs } = value;
  if (typeof name !== 'string' || name.length === 0) fail('name', name, 'a non-empty string');
  if (!Array.isArray(configs) || configs.length === 0) {
    return fail('configs', configs, 'a non-empty array of { name, family, config }');
  }
  const seen = new Set<string>();
  const entries = configs.map((entry: unknown, i): GridEntry => {
    const where = `configs[${i}]`;
    if (!isRecord(entry)) return fail(where, entry, 'an object { name, family, config }');
    for (const key of Object.keys(entry)) {
      if (key !== 'name' && key !== 'family' && key !== 'config') {
        fail(`${where}.${key}`, entry[key], 'a known field (name, family, config)');
      }
    }
    const entryName = entry.name;
    if (typeof entryName !== 'string' || !ENTRY_NAME.test(entryName)) {
      return fail(`${where}.name`, entryName, 'a name of letters, digits, ".", "_", "+" or "-"');
    }
    if (seen.has(entryName))
      fail(`${where}.name`, entryName, 'a name not used by an earlier entry');
    seen.add(entryName);
    if (typeof entry.family !== 'string' || entry.family.length === 0) {
      fail(`${where}.family`, entry.family, 'a non-empty string');
    }
    try {
      resolveConfig(entry.config);
    } catch (error) {
      if (error instanceof ConfigError) {
        throw new SweepFormatError(`${source}: ${where} (${entryName}): ${error.message}`);
      }
      throw error;
    }
    return {
      name: entryName,
      family: entry.family as string,
      config: entry.config as SuperLoraConfig,
    };
  });
  return { name: name as string, configs: entries };
}
