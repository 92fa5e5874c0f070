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
import { CudaEngine } from './cuda';
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
    // Only a binary that does not load, and that the user did not choose (SUPERLORA_BINARY /
    // SUPERLORA_BUILD), makes the engine unavailable; anything else (a malformed SUPERLORA_*
    // setting) is the caller's to see.
    if (!(error instanceof AddonLoadError) || error.requestedBy !== undefined) throw error;
    nativeReason = error.message;
  }
  return nativeReason;
}

let cudaReason: string | null | undefined;

/**
 * Why the cuda engine cannot run here: the addon does not load, was built without CUDA, or sees no
 * usable device (capabilities().cudaError says why), or null. Queried once per process, like the
 * device list itself.
 */
function cudaUnavailableReason(): string | null {
  if (cudaReason !== undefined) return cudaReason;
  const native = nativeUnavailableReason();
  if (native !== null) {
    cudaReason = `engine 'cuda' needs the native addon: ${native}`;
    return cudaReason;
  }
  const addon = loadAddon();
  const capabilities = addon.capabilities();
  if (!capabilities.cudaCompiled || typeof addon.CudaNativePlan !== 'function') {
    cudaReason =
      `engine 'cuda' needs a superlora binary built with CUDA, but ${addonInfo().path} ` +
      `(${capabilities.build.variant} build) has none; build it with \`npm run build:cuda\` ` +
      '(needs cmake and nvcc) and load it with SUPERLORA_BUILD=cuda';
  } else if (capabilities.cudaDevices.length === 0) {
    cudaReason = `engine 'cuda' needs a CUDA device: ${capabilities.cudaError ?? 'none found'}`;
  } else {
    cudaReason = null;
  }
  return cudaReason;
}

/** Why an engine cannot run here, or null when it can. */
export function engineUnavailableReason(name: EngineName): string | null {
  switch (name) {
    case 'tfjs':
      return null;
    case 'native':
      return nativeUnavailableReason();
    case 'cuda':
      return cudaUnavailableReason();
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
    case 'cuda': {
      const reason = cudaUnavailableReason();
      if (reason !== null)
        throw new EngineUnavailableError(`Engine "cuda" is unavailable: ${reason}`);
      return new CudaEngine(layout, tables);
    }
    default:
      throw new EngineUnavailableError(
        `Engine "${String(name)}" is unavailable: ${engineUnavailableReason(name) ?? 'unknown engine'}`,
      );
  }
}
