/**
 * `bench kernels` reports what it measured consistently: one row per kernel × variant ×
 * direction × size × threads, FLOP counts from the documented models, and every ratio computed
 * from the limits measured in the same run. (Speed itself is measured by the benchmark, not here.)
 */
import {
  LOWRANK_RANKS,
  runKernelBench,
  timeKernel,
  type KernelBenchRecord,
} from '../../src/bench/kernelsBench';
import type { MachineLimits } from '../../src/bench/machineLimits';

function run(log2Sizes: number[], threads: number[]) {
  const records: KernelBenchRecord[] = [];
  let limits: MachineLimits[] = [];
  runKernelBench({
    families: ['fwht', 'lowrank', 'kron', 'fastfood'],
    log2Sizes,
    threads,
    repeat: 1,
    onLimits: (measured) => (limits = measured),
    onRecord: (record) => records.push(record),
    onProgress: () => undefined,
  });
  return { records, limits };
}

describe('bench kernels', () => {
  const { records, limits } = run([10, 12], [2]);
  const limitOf = (threads: number) => limits.find((limit) => limit.threads === threads);

  test('the 1-thread limits are measured too, for the single-threaded hooks', () => {
    expect(limits.map((limit) => limit.threads)).toEqual([1, 2]);
  });

  test('one row per kernel × variant × direction × size; pooled kernels at the asked threads', () => {
    // Per size: FWHT 1, low rank 2 per rank, Kronecker 2, fastfood 2.
    expect(records).toHaveLength(2 * (1 + 2 * LOWRANK_RANKS.length + 2 + 2));
    for (const record of records) {
      const pooled = record.kernel === 'fwht' || record.kernel === 'fastfood';
      expect(record.threads).toBe(pooled ? 2 : 1);
      expect(record.size).toBe(2 ** record.log2Size);
    }
  });

  test('FLOP models: n·log2 n per FWHT row, 2·N·r and 4·N·r for rank r', () => {
    const fwht = records.find((r) => r.kernel === 'fwht' && r.log2Size === 10) as KernelBenchRecord;
    expect(fwht.batch).toBe(64);
    expect(fwht.flops).toBe(64 * 1024 * 10);
    const rank8 = records.filter((r) => r.kernel === 'lowrank' && r.variant.startsWith('rank 8,'));
    expect(rank8.map((r) => [r.log2Size, r.direction, r.flops])).toEqual([
      [10, 'forward', 2 * 1024 * 8],
      [10, 'backward', 4 * 1024 * 8],
      [12, 'forward', 2 * 4096 * 8],
      [12, 'backward', 4 * 4096 * 8],
    ]);
  });

  test('every ratio is computed from the same run’s limits', () => {
    for (const record of records) {
      const limit = limitOf(record.threads) as MachineLimits;
      expect(record.minMs).toBeLessThanOrEqual(record.medianMs);
      expect(record.gflops).toBeCloseTo(record.flops / (record.medianMs * 1e6), 6);
      const memcpyMs = (record.bytes / (limit.memcpy.gbs * 1e9)) * 1e3;
      expect(record.vsMemcpy).toBeCloseTo(record.medianMs / memcpyMs, 6);
      if (record.peak === 'add')
        expect(record.ofPeak).toBeCloseTo(record.gflops / limit.add.gflops, 6);
      if (record.peak === 'fma')
        expect(record.ofPeak).toBeCloseTo(record.gflops / limit.fma.gflops, 6);
      if (record.peak === null) expect(record.ofPeak).toBeNull();
      expect(record.vsFill === null).toBe(record.direction === 'backward');
      expect(record.vsFwht === null).toBe(record.kernel !== 'fastfood');
    }
  });
});

describe('timeKernel', () => {
  test('one warm-up call, then whole samples of at least one call each', () => {
    let calls = 0;
    const timing = timeKernel(() => {
      calls++;
    }, 5);
    // A call this cheap is repeated within each sample: more than warm-up + 5 calls in all.
    expect(calls).toBeGreaterThan(6);
    expect((calls - 1) % 5).toBe(0);
    expect(timing.minMs).toBeLessThanOrEqual(timing.medianMs);
  });
});
