/** Built-in grids, by the name `superlora sweep --grid NAME` takes. */
import type { SweepGrid } from './grid';
import { paperCoreGrid, paperSmallGrid } from './paperSmall';

export const namedGrids: Readonly<Record<string, () => SweepGrid>> = {
  'paper-small': paperSmallGrid,
  'paper-core': paperCoreGrid,
};

export const gridNames = Object.keys(namedGrids);

/** A fresh copy of a built-in grid, or undefined when there is none of that name. */
export function namedGrid(name: string): SweepGrid | undefined {
  return Object.prototype.hasOwnProperty.call(namedGrids, name) ? namedGrids[name]?.() : undefined;
}
