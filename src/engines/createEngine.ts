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
import { TfjsEngine } from './tfjs';

/** Why an engine cannot run here, or null when it can. */
export function engineUnavailableReason(name: EngineName): string | null {
  switch (name) {
    case 'tfjs':
      return null;
    case 'native':
      return 'the native CPU engine is not built into this version of superlora yet; use engine "tfjs"';
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
    default:
      throw new EngineUnavailableError(
        `Engine "${name}" is unavailable: ${engineUnavailableReason(name) ?? 'unknown engine'}`,
      );
  }
}
