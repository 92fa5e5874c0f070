/**
 * The `cuda` engine: the plan compiled once into the addon's CudaNativePlan (cuda/plan.cuh) on the
 * first CUDA device, which keeps parameters, ΔW_all, gradients, tables and scratch there. The
 * engine calls copy in, run and copy out; for loops that can leave data on the device,
 * `cudaPlan()` exposes the device-resident calls (setParams / runForward / readDelta,
 * setDeltaGradient / runBackward / readParamsGradient).
 */
import type { CudaNativePlan } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';
import { buildPlanDescriptor } from '../native/planDescriptor';
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import { CompiledPlanEngine } from './compiledPlanEngine';

export class CudaEngine extends CompiledPlanEngine<CudaNativePlan> {
  readonly name = 'cuda' as const;

  constructor(layout: PlanLayout, tables: FixedTables) {
    super(layout, new (loadAddon().CudaNativePlan)(buildPlanDescriptor(layout, tables)));
  }

  /** The compiled device plan: diagnostics, launch counts and the device-resident calls. */
  cudaPlan(): CudaNativePlan {
    return this.live();
  }
}
