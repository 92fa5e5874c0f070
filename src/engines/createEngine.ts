/**
 * The single dispatch point from an engine choice to an engine instance. `auto` picks the fastest
 * engine available here; asking for one that is not available throws an error that says why.
 */
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import {
  EngineUnavailableError,
  type DeltaEngine,
  type EngineChoice,
  type EngineName,
} from './engine';
import { AddonLoadError, addonInfo, loadAddon } from '../native/loadAddon';
import { NativeEngine } from './native';
import { TfjsEngine } from './tfjs';

let nativeReason: string | null | undefined;

/** Why the native engine cannot run here (the addon does not load, or predates it), or null. */
function nativeUnavailableReason(): string | null {
  if (nativeReason !== undefined) return nativeReason;
  try {
    const addon = loadAddon();
    nativeReason =
      typeof addon.NativePlan === 'function'
        ? null
        : `the addon at ${addonInfo().path} predates the native engine; rebuild it with ` +
          '`npm run build:native`';
  } catch (error) {
    nativeReason =
      error instanceof AddonLoadError
        ? error.message
        : `the addon failed to load: ${error instanceof Error ? error.message : String(error)}`;
  }
  return nativeReason;
}

/** Why an engine cannot run here, or null when it can. */
export function engineUnavailableReason(name: EngineName): string | null {
  switch (name) {
    case 'tfjs':
      return null;
    case 'native':
      return nativeUnavailableReason();
    case 'cuda':
      return 'the CUDA engine is not built into this version of superlora yet; use engine "tfjs"';
  }
}

export function resolveEngineChoice(choice: EngineChoice): EngineName {
  if (choice === 'auto') {
    for (const name of ['cuda', 'native', 'tfjs'] as const) {
      if (engineUnavailableReason(name) === null) return name;
    }
    return 'tfjs';
  }
  if (choice !== 'tfjs' && choice !== 'native' && choice !== 'cuda') {
    throw new TypeError(
      `Expected "tfjs", "native", "cuda" or "auto" for engine but received ${JSON.stringify(choice)}`,
    );
  }
  const reason = engineUnavailableReason(choice);
  if (reason !== null)
    throw new EngineUnavailableError(`Engine "${choice}" is unavailable: ${reason}`);
  return choice;
}

export function createEngine(
  name: EngineName,
  layout: PlanLayout,
  tables: FixedTables,
): DeltaEngine {
  switch (name) {
    case 'tfjs':
      return new TfjsEngine(layout, tables);
    case 'native': {
      const reason = nativeUnavailableReason();
      if (reason !== null)
        throw new EngineUnavailableError(`Engine "native" is unavailable: ${reason}`);
      return new NativeEngine(layout, tables);
    }
    default:
      throw new EngineUnavailableError(
        `Engine "${name}" is unavailable: ${engineUnavailableReason(name) ?? 'unknown engine'}`,
      );
  }
}
