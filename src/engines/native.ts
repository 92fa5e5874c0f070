/**
 * The `native` engine: the plan compiled once into the addon's NativePlan (DESIGN.md "Native
 * boundary"), which owns its tables and scratch. `delta` / `deltaBackward` run on the libuv pool
 * and return fresh arrays; `deltaInto` / `deltaBackwardInto` run synchronously into arrays the
 * caller reuses, for training loops that should not allocate per step.
 */
import type { NativePlan } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';
import { buildPlanDescriptor } from '../native/planDescriptor';
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import { checkVector } from './checkVector';
import type { DeltaEngine } from './engine';

export class NativeEngine implements DeltaEngine {
  readonly name = 'native' as const;
  private plan: NativePlan | null;

  constructor(
    private readonly layout: PlanLayout,
    tables: FixedTables,
  ) {
    const addon = loadAddon();
    this.plan = new addon.NativePlan(buildPlanDescriptor(layout, tables));
  }

  private live(): NativePlan {
    if (!this.plan) throw new Error('This native engine was disposed');
    return this.plan;
  }

  async delta(params: Float32Array): Promise<Float32Array> {
    const plan = this.live();
    checkVector('params', params, this.layout.numParams);
    const out = new Float32Array(this.layout.deltaSize);
    await plan.forwardAsync(params, out);
    return out;
  }

  async deltaBackward(params: Float32Array, dDelta: Float32Array): Promise<Float32Array> {
    const plan = this.live();
    checkVector('params', params, this.layout.numParams);
    checkVector('dDelta', dDelta, this.layout.deltaSize);
    const dParams = new Float32Array(this.layout.numParams);
    await plan.backwardAsync(params, dDelta, dParams);
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

  /** The compiled plan, for diagnostics and tests. */
  nativePlan(): NativePlan {
    return this.live();
  }

  dispose(): void {
    this.plan?.dispose();
    this.plan = null;
  }
}
