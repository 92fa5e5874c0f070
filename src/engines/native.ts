/**
 * The `native` engine: the plan compiled once into the addon's NativePlan (DESIGN.md "Native
 * boundary"), which owns its tables and scratch and runs on the CPU kernel pool.
 */
import type { NativePlan } from '../native/addonTypes';
import { loadAddon } from '../native/loadAddon';
import { buildPlanDescriptor } from '../native/planDescriptor';
import type { PlanLayout } from '../plan';
import type { FixedTables } from '../tables';
import { CompiledPlanEngine } from './compiledPlanEngine';

export class NativeEngine extends CompiledPlanEngine<NativePlan> {
  readonly name = 'native' as const;

  constructor(layout: PlanLayout, tables: FixedTables) {
    super(layout, new (loadAddon().NativePlan)(buildPlanDescriptor(layout, tables)));
  }

  /** The compiled plan, for diagnostics and tests. */
  nativePlan(): NativePlan {
    return this.live();
  }
}
