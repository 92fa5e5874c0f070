/**
 * What the `native` and `cuda` engines share: a plan compiled once into an addon object that runs
 * forward / backward on caller-owned Float32Arrays, synchronously or on the libuv pool. `delta` /
 * `deltaBackward` return fresh arrays; `deltaInto` / `deltaBackwardInto` run synchronously into
 * arrays the caller reuses, for training loops that should not allocate per step.
 *
 * The promise forms run on the libuv pool after they return, so they work on copies of their
 * inputs taken at the call, as the tfjs engine's tensors are: a caller that updates `params` in
 * place (an optimizer step) before the promise settles gets the ΔW of the values it passed, on
 * every engine alike. The synchronous forms read the caller's arrays directly.
 */
import type { CompiledPlan } from '../native/addonTypes';
import type { PlanLayout } from '../plan';
import { checkVector } from './checkVector';
import type { DeltaEngine, EngineName } from './engine';

export abstract class CompiledPlanEngine<P extends CompiledPlan> implements DeltaEngine {
  abstract readonly name: EngineName;
  private plan: P | null;

  protected constructor(
    protected readonly layout: PlanLayout,
    plan: P,
  ) {
    this.plan = plan;
  }

  /** The compiled plan; throws once the engine was disposed. */
  protected live(): P {
    if (!this.plan) throw new Error(`This ${this.name} engine was disposed`);
    return this.plan;
  }

  async delta(params: Float32Array): Promise<Float32Array> {
    const plan = this.live();
    checkVector('params', params, this.layout.numParams);
    const out = new Float32Array(this.layout.deltaSize);
    await plan.forwardAsync(params.slice(), out);
    return out;
  }

  async deltaBackward(params: Float32Array, dDelta: Float32Array): Promise<Float32Array> {
    const plan = this.live();
    checkVector('params', params, this.layout.numParams);
    checkVector('dDelta', dDelta, this.layout.deltaSize);
    const dParams = new Float32Array(this.layout.numParams);
    await plan.backwardAsync(params.slice(), dDelta.slice(), dParams);
    return dParams;
  }

  /** ΔW_all into `out` (deltaSize values), synchronously; returns `out`. */
  deltaInto(params: Float32Array, out: Float32Array): Float32Array {
    const plan = this.live();
    checkVector('params', params, this.layout.numParams);
    checkVector('out', out, this.layout.deltaSize);
    plan.forward(params, out);
    return out;
  }

  /** dL/dparams into `dParams` (numParams values, all overwritten), synchronously; returns it. */
  deltaBackwardInto(
    params: Float32Array,
    dDelta: Float32Array,
    dParams: Float32Array,
  ): Float32Array {
    const plan = this.live();
    checkVector('params', params, this.layout.numParams);
    checkVector('dDelta', dDelta, this.layout.deltaSize);
    checkVector('dParams', dParams, this.layout.numParams);
    plan.backward(params, dDelta, dParams);
    return dParams;
  }

  dispose(): void {
    this.plan?.dispose();
    this.plan = null;
  }
}
