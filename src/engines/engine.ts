/**
 * What every engine implements (DESIGN.md "Layers"): the whole ΔW map of SPEC §3–§8 for one plan,
 * forward and backward, on caller-visible Float32Arrays.
 */
export type EngineName = 'tfjs' | 'native' | 'cuda';
export type EngineChoice = EngineName | 'auto';

export const engineNames: readonly EngineName[] = ['tfjs', 'native', 'cuda'];

export interface DeltaEngine {
  readonly name: EngineName;
  /** ΔW_all (length N) for a flat parameter vector (length numParams). */
  delta(params: Float32Array): Promise<Float32Array>;
  /** dL/dparams (flat layout) for dL/dΔW_all. */
  deltaBackward(params: Float32Array, dDelta: Float32Array): Promise<Float32Array>;
  /** Frees what the engine holds (tensors, native plans); the engine is unusable afterwards. */
  dispose(): void;
}

/** An engine that is not available here; the message says why and what to do. */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}
