/**
 * The fixed tables a plan needs (SPEC §7–§9): per fastfood size L the signs B, the permutation π and
 * the gaussians Gv, and the shuffle σ of ΔW_all. Generated from the seed on first use, unless an
 * adapter file supplied them (SPEC §11), in which case those replace the seeded ones.
 */
import { ConfigError } from './config';
import type { PlanLayout } from './plan';
import { StreamTag, fastfoodGaussians, fastfoodSigns, seededPermutation } from './rng';

export interface FastfoodTable {
  size: number;
  signs: Float32Array;
  perm: Int32Array;
  gaussians: Float32Array;
}

export interface TableOverrides {
  fastfood?: Map<number, FastfoodTable>;
  shuffle?: Int32Array;
}

function checkPermutation(perm: Int32Array, length: number, what: string): void {
  if (perm.length !== length) {
    throw new ConfigError(`Expected ${length} entries for ${what} but received ${perm.length}`);
  }
  const seen = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const j = perm[i] as number;
    if (j < 0 || j >= length || seen[j]) {
      throw new ConfigError(
        `Expected a permutation of 0…${length - 1} for ${what} but entry ${i} is ${j}`,
      );
    }
    seen[j] = 1;
  }
}

export class FixedTables {
  private readonly fastfoodCache = new Map<number, FastfoodTable>();
  private shuffleCache: Int32Array | null = null;
  private readonly fromFile = new Set<string>();

  constructor(
    private readonly layout: PlanLayout,
    overrides: TableOverrides = {},
  ) {
    for (const [size, table] of overrides.fastfood ?? []) {
      if (!layout.projectionSizes.includes(size)) {
        throw new ConfigError(
          `Expected a fastfood size among [${layout.projectionSizes.join(', ')}] for projection.L${size} but the plan has no such size`,
        );
      }
      const what = `projection.L${size}`;
      if (table.signs.length !== size || table.gaussians.length !== size) {
        throw new ConfigError(`Expected B and G of length ${size} for ${what}`);
      }
      checkPermutation(table.perm, size, `${what}.perm`);
      const badSign = table.signs.findIndex((b) => b !== 1 && b !== -1);
      if (badSign >= 0) {
        throw new ConfigError(
          `Expected ±1 for ${what}.B[${badSign}] but received ${table.signs[badSign]}`,
        );
      }
      const badGaussian = table.gaussians.findIndex((g) => !Number.isFinite(g));
      if (badGaussian >= 0) {
        throw new ConfigError(`Expected a finite number for ${what}.G[${badGaussian}]`);
      }
      // F divides by sqrt(n · ΣG²) (SPEC §7): all-zero gaussians would make every ΔW value NaN.
      if (!(table.gaussians.reduce((sum, g) => sum + g * g, 0) > 0)) {
        throw new ConfigError(`Expected ${what}.G with a positive sum of squares (not all zeros)`);
      }
      this.fastfoodCache.set(size, table);
      this.fromFile.add(`fastfood:${size}`);
    }
    if (overrides.shuffle) {
      if (!layout.config.shuffle) {
        throw new ConfigError('Expected no shuffle.perm for a config with shuffle false');
      }
      checkPermutation(overrides.shuffle, layout.deltaSize, 'shuffle.perm');
      this.shuffleCache = overrides.shuffle;
      this.fromFile.add('shuffle');
    }
  }

  /** Whether a table was supplied (by an adapter file) rather than generated from the seed. */
  isFromFile(kind: 'fastfood' | 'shuffle', size?: number): boolean {
    return this.fromFile.has(kind === 'shuffle' ? 'shuffle' : `fastfood:${size}`);
  }

  /** B, π and Gv for fastfood size L (a power of two ≥ every n_g that uses it). */
  fastfood(size: number): FastfoodTable {
    let table = this.fastfoodCache.get(size);
    if (!table) {
      const seed = this.layout.config.seed;
      table = {
        size,
        signs: fastfoodSigns(seed, size),
        perm: seededPermutation(seed, StreamTag.permutation, size),
        gaussians: fastfoodGaussians(seed, size),
      };
      this.fastfoodCache.set(size, table);
    }
    return table;
  }

  /** σ: ΔW_all[i] = v[σ[i]]. Only for a config with shuffle. */
  shuffle(): Int32Array {
    if (!this.layout.config.shuffle) throw new Error('This plan has no shuffle');
    this.shuffleCache ??= seededPermutation(
      this.layout.config.seed,
      StreamTag.shuffle,
      this.layout.deltaSize,
    );
    return this.shuffleCache;
  }
}
