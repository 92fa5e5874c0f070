/**
 * The `cuda` engine: the plan compiled once into the addon's CudaNativePlan (cuda/plan.cuh) on the
 * first CUDA device, which keeps parameters, ΔW_all, gradients, tables and scratch there.
 * `delta` / `deltaBackward` run on the libuv pool (copy in, run, copy out) and return fresh
 * arrays; `deltaInto` / `deltaBackwardInto` run synchronously into arrays the caller reuses. For
 * loops that can leave data on the device, `cudaPlan()` exposes the device-resident calls
 * (setParams / runForward / readDelta, setDeltaGradient / runBackward / readParamsGradient).
 */
import type { CudaNativePlan } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';
import { buildPlanDescriptor } from '../native/planDescriptor';
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import { checkVector } from './checkVector';
import type { DeltaEngine } from './engine';

export class CudaEngine implements DeltaEngine {
  readonly name = 'cuda' as const;
  private plan: CudaNativePlan | null;

  constructor(
    private readonly layout: PlanLayout,
    tables: FixedTables,
  ) {
    const addon = loadAddon();
    this.plan = new addon.CudaNativePlan(buildPlanDescriptor(layout, tables));
  }

  private live(): CudaNativePlan {
    if (!this.plan) throw new Error('This cuda engine was disposed');
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

  /** The compiled device plan: diagnostics, launch counts and the device-resident calls. */
  cudaPlan(): CudaNativePlan {
    return this.live();
  }

  dispose(): void {
    this.plan?.dispose();
    this.plan = null;
  }
}
