/**
 * ΔW_all as a differentiable tfjs function of the flat adapter parameters. On GPU backends (webgl,
 * webgpu) the tfjs engine's graph runs on the device and tfjs differentiates it; on the CPU
 * backends (cpu, wasm, tensorflow) a faster engine runs behind `tf.customGrad`, its backward giving
 * dL/dparams from dL/dΔW.
 */
import * as tf from '@tensorflow/tfjs';
import type { Plan } from '../createPlan';
import type { EngineChoice, EngineName } from '../engines/engine';
import { engineUnavailableReason } from '../engines/createEngine';
import {
  createDeltaGraphConstants,
  deltaGraph,
  disposeDeltaGraphConstants,
} from '../engines/tfjsDeltaGraph';

/** An engine that can run synchronously (inside a tfjs graph) on caller-owned arrays. */
interface SyncDeltaEngine {
  deltaInto(params: Float32Array, out: Float32Array): void;
  deltaBackwardInto(params: Float32Array, dDelta: Float32Array, dParams: Float32Array): void;
}

function isSyncEngine(engine: unknown): engine is SyncDeltaEngine {
  const candidate = engine as Partial<SyncDeltaEngine>;
  return (
    typeof candidate.deltaInto === 'function' && typeof candidate.deltaBackwardInto === 'function'
  );
}

const HOST_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/** `auto` for training: a host engine on host backends, the tfjs graph on device backends. */
export function chooseTrainingEngine(choice: EngineChoice): EngineName {
  if (choice !== 'auto') return choice;
  if (!HOST_BACKENDS.has(tf.getBackend())) return 'tfjs';
  for (const name of ['native'] as const) if (engineUnavailableReason(name) === null) return name;
  return 'tfjs';
}

export interface DifferentiableDelta {
  engine: EngineName;
  apply(params: tf.Tensor1D): tf.Tensor1D;
  dispose(): void;
}

export function differentiableDelta(plan: Plan, choice: EngineChoice): DifferentiableDelta {
  const engineName = chooseTrainingEngine(choice);
  if (engineName === 'tfjs') {
    const constants = createDeltaGraphConstants(plan.layout, plan.tables);
    return {
      engine: 'tfjs',
      apply: deltaGraph(plan.layout, constants),
      dispose: () => disposeDeltaGraphConstants(constants),
    };
  }
  const engine = plan.engine(engineName);
  if (!isSyncEngine(engine)) {
    throw new Error(`Engine "${engineName}" has no synchronous form, which tf.customGrad needs`);
  }
  const apply = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const values = (inputs[0] as tf.Tensor).dataSync() as Float32Array;
    const delta = new Float32Array(plan.deltaSize);
    engine.deltaInto(values, delta);
    return {
      value: tf.tensor1d(delta),
      gradFunc: (dy: tf.Tensor) => {
        const grad = new Float32Array(plan.numParams);
        engine.deltaBackwardInto(values, dy.dataSync() as Float32Array, grad);
        return tf.tensor1d(grad);
      },
    };
  }) as (params: tf.Tensor1D) => tf.Tensor1D;
  return { engine: engineName, apply, dispose: () => undefined };
}
