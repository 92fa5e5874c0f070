/**
 * The native kernels for tfjs's cpu backend (src/tfjs/kernels/): the addon's GEMM against a JS
 * loop (every ISA, edge sizes, bad arguments), then every registered kernel against tfjs's own
 * kernel on the same inputs (ours unregistered for the reference; every output array handed to a
 * native kernel starts as NaN), then a ViT training step with and without them.
 */
import * as tf from '@tensorflow/tfjs';
import { UNARY_OP_NAMES, type GemmOptions } from '../../src/native/addonTypes';
import {
  nativeKernelConfigs,
  nativeKernelsRegistered,
  nativeKernelsStatus,
  allocatorTuned,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/tfjs/kernels/register';
import { ATTENTION, GELU, LAYER_NORM, LINEAR } from '../../src/vit/fusedOps';
import {
  attention,
  composedGelu,
  composedLayerNorm,
  composedRowSoftmax,
  Dropout,
  gelu,
  layerNorm,
  linear,
  rowSoftmax,
} from '../../src/vit/layers';
import { expectNativeError } from '../native/expectNativeError';
import { maxAbsDiff, randomizedViT, randomPixels, uniforms } from '../vit/tinyVit';
import { addon, useCpuBackendWithPoisonedOutputs } from './kernelHarness';

// Every output array starts as NaN, so a kernel that leaves an element unwritten fails its
// comparison (recycled arrays hold earlier outputs); every test starts from tfjs's own kernels.
useCpuBackendWithPoisonedOutputs();

let seedCounter = 1;
function random(count: number, scale = 1): Float32Array {
  return uniforms(seedCounter++, count).map((u) => 2 * scale * u);
}

/** An integer in [low, high], deterministic across runs. */
function pick(low: number, high: number): number {
  const [u] = uniforms(seedCounter++, 1);
  return low + Math.floor(((u as number) + 0.5) * (high - low + 1));
}

interface Reference extends GemmOptions {
  batch: number;
}

/** The GEMM of addon.gemm in float64, straight from its definition. */
function referenceGemm(a: Float32Array, b: Float32Array, options: Reference): Float64Array {
  const { m, n, k, batch } = options;
  const batchA = options.batchA ?? batch;
  const batchB = options.batchB ?? batch;
  const out = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    const aBase = (bi % batchA) * m * k;
    const bBase = (bi % batchB) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const x = a[aBase + (options.transposeA ? p * m + i : i * k + p)] as number;
          const y = b[bBase + (options.transposeB ? j * k + p : p * n + j)] as number;
          sum += x * y;
        }
        let value = sum * (options.alpha ?? 1);
        if (options.bias) {
          value += options.bias[
            bi * (options.biasBatchStride ?? 0) +
              i * (options.biasRowStride ?? 0) +
              j * (options.biasColStride ?? 1)
          ] as number;
        }
        if (options.activation === 'relu') value = Math.max(0, value);
        out[(bi * m + i) * n + j] = value;
      }
    }
  }
  return out;
}

/** |actual − expected| ≤ tolerance · (1 + |expected|) everywhere, with a readable failure. */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what = '',
): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let worstIndex = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const x = actual[i] as number;
    if (Number.isNaN(e) || Number.isNaN(x)) {
      if (Number.isNaN(e) !== Number.isNaN(x)) throw new Error(`${what}: NaN mismatch at ${i}`);
      continue;
    }
    const error = Math.abs(x - e) / (1 + Math.abs(e));
    if (error > worst) {
      worst = error;
      worstIndex = i;
    }
  }
  if (worst > tolerance) {
    throw new Error(
      `${what}: relative error ${worst} at ${worstIndex} (got ${actual[worstIndex]}, expected ${expected[worstIndex]}) exceeds ${tolerance}`,
    );
  }
}

const ISAS = ['portable', 'avx2', 'avx512'] as const;

/** addon.gemm of `a`, `b` with at least two pool threads, then with one: [pool, one thread]. */
function gemmOnPoolAndOneThread(
  a: Float32Array,
  b: Float32Array,
  options: Reference,
): [Float32Array, Float32Array] {
  const size = options.batch * options.m * options.n;
  const parallelOut = new Float32Array(size);
  const serialOut = new Float32Array(size);
  const threads = addon.getThreads();
  addon.setThreads(Math.max(2, threads));
  try {
    addon.gemm(a, b, parallelOut, options);
    addon.setThreads(1);
    addon.gemm(a, b, serialOut, options);
  } finally {
    addon.setThreads(threads);
  }
  return [parallelOut, serialOut];
}

describe('addon.gemm against a JS loop', () => {
  test.each(ISAS)('%s: random sizes, every transpose combination, bias, relu, alpha', (isa) => {
    for (let trial = 0; trial < 48; trial++) {
      const large = trial % 8 === 7;
      const m = large ? pick(100, 300) : pick(1, 40);
      const n = large ? pick(100, 300) : pick(1, 70);
      const k = large ? pick(200, 600) : pick(0, 40);
      const batch = large ? 1 : pick(1, 3);
      const options: Reference = {
        m,
        n,
        k,
        batch,
        batchA: trial % 3 === 0 ? 1 : batch,
        batchB: trial % 5 === 0 ? 1 : batch,
        transposeA: (trial & 1) === 1,
        transposeB: (trial & 2) === 2,
        alpha: trial % 4 === 0 ? 0.5 : 1,
        activation: trial % 3 === 1 ? 'relu' : 'linear',
        isa,
      };
      if (trial % 2 === 0) {
        options.bias = random(n);
      }
      const a = random((options.batchA ?? batch) * m * k);
      const b = random((options.batchB ?? batch) * k * n);
      const out = new Float32Array(batch * m * n).fill(NaN);
      addon.gemm(a, b, out, options);
      expectClose(
        out,
        referenceGemm(a, b, options),
        2e-6 * Math.sqrt(k + 1) + 1e-6,
        JSON.stringify({ ...options, bias: !!options.bias }),
      );
    }
  });

  test.each(ISAS)('%s: every tile remainder (sizes 1..33) and K = 0, 1', (isa) => {
    for (const m of [1, 2, 5, 6, 7, 13, 14, 15, 29, 33]) {
      for (const n of [1, 3, 8, 15, 16, 17, 31, 32, 33]) {
        for (const k of [0, 1, 3, 17]) {
          const options: Reference = { m, n, k, batch: 2, transposeB: (m + n) % 2 === 0, isa };
          const a = random(2 * m * k);
          const b = random(2 * k * n);
          const out = new Float32Array(2 * m * n).fill(NaN);
          addon.gemm(a, b, out, options);
          expectClose(out, referenceGemm(a, b, options), 1e-5, `m${m} n${n} k${k}`);
        }
      }
    }
  });

  test('K = 0 gives act(bias), or zeros', () => {
    const out = new Float32Array(6).fill(NaN);
    addon.gemm(new Float32Array(0), new Float32Array(0), out, { m: 2, n: 3, k: 0 });
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
    const bias = new Float32Array([-1, 2, -3]);
    addon.gemm(new Float32Array(0), new Float32Array(0), out, {
      m: 2,
      n: 3,
      k: 0,
      bias,
      activation: 'relu',
    });
    expect(Array.from(out)).toEqual([0, 2, 0, 0, 2, 0]);
  });

  test('bias strides: per column, per row, per element, scalar, per batch', () => {
    const m = 5;
    const n = 19;
    const k = 7;
    const batch = 3;
    const a = random(batch * m * k);
    const b = random(k * n);
    const layouts: Partial<Reference>[] = [
      { biasColStride: 1 },
      { biasColStride: 0, biasRowStride: 1 },
      { biasColStride: 1, biasRowStride: n },
      { biasColStride: 0, biasRowStride: 0 },
      { biasColStride: 1, biasRowStride: n, biasBatchStride: m * n },
    ];
    for (const layout of layouts) {
      for (const isa of ISAS) {
        const options: Reference = {
          m,
          n,
          k,
          batch,
          batchB: 1,
          bias: random(batch * m * n),
          ...layout,
          isa,
        };
        const out = new Float32Array(batch * m * n);
        addon.gemm(a, b, out, options);
        expectClose(out, referenceGemm(a, b, options), 1e-5, JSON.stringify(layout));
      }
    }
  });

  test('relu is Math.max(0, x): NaN stays NaN, −0 becomes +0', () => {
    for (const isa of ISAS) {
      // Rows of a pick out entries of b: out = b (1 × 20), then relu.
      const b = new Float32Array(20);
      b.set([NaN, -0, 0, -1, 2, -Infinity, Infinity]);
      const out = new Float32Array(20);
      addon.gemm(new Float32Array([1]), b, out, { m: 1, n: 20, k: 1, activation: 'relu', isa });
      expect(Number.isNaN(out[0])).toBe(true);
      expect(Object.is(out[1], 0)).toBe(true);
      expect(Array.from(out.subarray(2, 7))).toEqual([0, 0, 2, 0, Infinity]);
    }
  });

  test('large products use the thread pool and agree with one thread', () => {
    const m = 300;
    const n = 260;
    const k = 520;
    const a = random(m * k);
    const b = random(k * n);
    const options: Reference = { m, n, k, batch: 1, transposeA: true };
    const [parallelOut, serialOut] = gemmOnPoolAndOneThread(a, b, options);
    // Each output is computed by one task with the same depth blocking: bit-identical.
    expect(parallelOut).toEqual(serialOut);
    expectClose(parallelOut, referenceGemm(a, b, options), 1e-4);
  });

  test('a small output over a long depth is cut by depth blocks and agrees with one thread bit for bit', () => {
    // 40 × 24 over 2 100: nine depth blocks of 256 (the last 52), summed in order, then the bias
    // per column and the relu, as one task running the blocks in turn would.
    const [m, n, k] = [40, 24, 2100];
    const a = random(k * m);
    const b = random(k * n);
    const bias = random(n);
    const options: Reference = {
      m,
      n,
      k,
      batch: 1,
      transposeA: true,
      bias,
      biasColStride: 1,
      activation: 'relu',
    };
    const [parallelOut, serialOut] = gemmOnPoolAndOneThread(a, b, options);
    expect(parallelOut).toEqual(serialOut);
    expectClose(parallelOut, referenceGemm(a, b, options), 1e-4);
    expect(parallelOut.some((x) => x === 0)).toBe(true); // the relu clipped some
  });

  test('many small matrices are spread over the pool by batch and agree with one thread', () => {
    const batch = 256;
    const options: Reference = { m: 17, n: 17, k: 32, batch, transposeB: true };
    const a = random(batch * 17 * 32);
    const b = random(batch * 32 * 17);
    const [parallelOut, serialOut] = gemmOnPoolAndOneThread(a, b, options);
    expect(parallelOut).toEqual(serialOut);
    expectClose(parallelOut, referenceGemm(a, b, options), 1e-5);
  });

  test('bad arguments throw TypeError / RangeError naming them', () => {
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const out = new Float32Array(4);
    const sizes = { m: 2, n: 2, k: 3 };
    expectNativeError(
      () => addon.gemm([] as unknown as Float32Array, b, out, sizes),
      'TypeError',
      /for a but received Array/,
    );
    expectNativeError(
      () => addon.gemm(a, new Float64Array(6) as unknown as Float32Array, out, sizes),
      'TypeError',
      /for b but received Float64Array/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, undefined as unknown as GemmOptions),
      'TypeError',
      /for options but received undefined/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { n: 2, k: 3 } as GemmOptions),
      'TypeError',
      /for options\.m\) but received undefined/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, m: 2.5 }),
      'RangeError',
      /options\.m but received number 2\.5/,
    );
    expectNativeError(() => addon.gemm(a, b, out, { ...sizes, m: -1 }), 'RangeError', /options\.m/);
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, k: 4 }),
      'RangeError',
      /a\.length to be options\.batchA · options\.m · options\.k = 8 but received 6/,
    );
    expectNativeError(
      () => addon.gemm(a, b, new Float32Array(5), sizes),
      'RangeError',
      /out\.length/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, transposeA: 1 as unknown as boolean }),
      'TypeError',
      /options\.transposeA/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, activation: 'gelu' as 'relu' }),
      'RangeError',
      /'linear', 'relu' for options\.activation/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, alpha: NaN }),
      'RangeError',
      /options\.alpha/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, bias: new Float32Array(1) }),
      'RangeError',
      /options\.bias to hold at least 2/,
    );
    expectNativeError(
      () => addon.gemm(a, b, out, { ...sizes, bias: new Float32Array(2), biasColStride: 2 }),
      'RangeError',
      /options\.biasColStride/,
    );
    const shared = new Float32Array(10);
    expectNativeError(
      () => addon.gemm(shared.subarray(0, 6), b, shared.subarray(4, 8), sizes),
      'RangeError',
      /out not to overlap a/,
    );
    const detached = new Float32Array(6);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expectNativeError(() => addon.gemm(detached, b, out, sizes), 'TypeError', /detached/);
  });
});

const ADDON_KERNELS = [
  'gemm',
  'unaryOp',
  'binaryOp',
  'reduceOp',
  'transpose',
  'softmax',
  'copyBox',
] as const;

/** How many times the addon's kernel functions run during `action`. */
function countNativeCalls<T>(action: () => T): { result: T; calls: number } {
  const spies = ADDON_KERNELS.map((name) => jest.spyOn(addon, name));
  try {
    const result = action();
    return { result, calls: spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0) };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
}

interface BothWays {
  stock: Float32Array;
  native: Float32Array;
  shape: number[];
  dtype: string;
  /** Calls into the addon's kernels while computing `native`. */
  nativeCalls: number;
}

/**
 * Runs `compute` with tfjs's kernels and with ours; returns both results as arrays. Unless
 * `expectNative` is false, the native run must actually have used the addon.
 */
function bothWays(compute: () => tf.Tensor, expectNative = true): BothWays {
  unregisterNativeKernels();
  const stockTensor = compute();
  const stock = stockTensor.dataSync() as Float32Array;
  expect(registerNativeKernels()).toBe(true);
  const { result: nativeTensor, calls } = countNativeCalls(compute);
  const native = nativeTensor.dataSync() as Float32Array;
  unregisterNativeKernels();
  expect(nativeTensor.shape).toEqual(stockTensor.shape);
  expect(nativeTensor.dtype).toEqual(stockTensor.dtype);
  if (expectNative) expect(calls).toBeGreaterThan(0);
  const result = {
    stock,
    native,
    shape: stockTensor.shape,
    dtype: stockTensor.dtype,
    nativeCalls: calls,
  };
  tf.dispose([stockTensor, nativeTensor]);
  return result;
}

function randomTensor(shape: number[], scale = 1): tf.Tensor {
  return tf.tensor(
    random(
      shape.reduce((x, y) => x * y, 1),
      scale,
    ),
    shape,
  );
}

/** Both operands' shapes for a · b with these batch shapes, sizes and transposes. */
function operandShapes(
  batchA: number[],
  batchB: number[],
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
): [number[], number[]] {
  return [
    [...batchA, ...(transposeA ? [k, m] : [m, k])],
    [...batchB, ...(transposeB ? [n, k] : [k, n])],
  ];
}

const BATCH_SHAPES: [number[], number[]][] = [
  [[], []],
  [[1], []],
  [[3], []],
  [[], [3]],
  [[3], [3]],
  [[3], [1]],
  [[2, 3], [3]],
  [
    [1, 3],
    [2, 3],
  ],
  [
    [2, 1],
    [2, 1],
  ],
  [
    [2, 3],
    [2, 3],
  ],
];

describe('BatchMatMul', () => {
  test('matches tfjs on random shapes: every transpose combination, batch broadcasting, size-1 dims', () => {
    for (const [batchA, batchB] of BATCH_SHAPES) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const m = pick(1, 20);
          const n = pick(1, 40);
          const k = pick(1, 30);
          const [aShape, bShape] = operandShapes(batchA, batchB, m, n, k, transposeA, transposeB);
          const a = randomTensor(aShape);
          const b = randomTensor(bShape);
          const { stock, native } = bothWays(() => tf.matMul(a, b, transposeA, transposeB));
          expectClose(native, stock, 1e-5, `${aShape} x ${bShape} ${transposeA} ${transposeB}`);
          tf.dispose([a, b]);
        }
      }
    }
  });

  test('sizes of 1 and large products', () => {
    for (const [m, n, k] of [
      [1, 1, 1],
      [1, 7, 1],
      [7, 1, 1],
      [1, 1, 9],
      [130, 70, 300],
    ] as const) {
      const a = randomTensor([m, k]);
      const b = randomTensor([k, n]);
      const { stock, native } = bothWays(() => tf.matMul(a, b));
      expectClose(native, stock, 1e-5, `${m} ${n} ${k}`);
      tf.dispose([a, b]);
    }
  });

  test('int32 operands go to the tfjs kernel', () => {
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const b = tf.tensor2d([1, 0, 2, 1, 0, 3], [3, 2], 'int32');
    const { stock, native, dtype, nativeCalls } = bothWays(() => tf.matMul(a, b), false);
    expect(nativeCalls).toBe(0);
    expect(dtype).toBe('int32');
    expect(Array.from(native)).toEqual(Array.from(stock));
    tf.dispose([a, b]);
  });

  test('a shape mismatch throws tfjs own error', () => {
    const a = randomTensor([2, 3]);
    const b = randomTensor([4, 2]);
    registerNativeKernels();
    expect(() => tf.matMul(a, b)).toThrow(/inner shapes \(3\) and \(4\)/);
    tf.dispose([a, b]);
  });
});

describe('_FusedMatMul', () => {
  const m = 9;
  const n = 21;
  const k = 13;
  const biasShapes: (number[] | null)[] = [
    null,
    [n],
    [1, n],
    [m, n],
    [m, 1],
    [],
    [1],
    [2, m, n],
    [2, 1, n],
    [1, 1, n],
    [2, 1, 1],
  ];
  const activations = ['linear', 'relu', 'relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid'] as const;

  test('matches tfjs for every bias shape and activation, batched and not', () => {
    for (const batched of [false, true]) {
      for (const biasShape of biasShapes) {
        if (!batched && biasShape !== null && biasShape.length === 3) continue;
        for (const activation of activations) {
          for (const transposeB of [false, true]) {
            const aShape = batched ? [2, m, k] : [m, k];
            const a = randomTensor(aShape);
            const b = randomTensor(transposeB ? [n, k] : [k, n]);
            const bias = biasShape === null ? undefined : randomTensor(biasShape);
            const preluActivationWeights = activation === 'prelu' ? randomTensor([n]) : undefined;
            const { stock, native } = bothWays(() =>
              tf.fused.matMul({
                a,
                b,
                transposeB,
                bias,
                activation,
                preluActivationWeights,
                leakyreluAlpha: 0.15,
              }),
            );
            expectClose(
              native,
              stock,
              1e-5,
              `${aShape} bias ${JSON.stringify(biasShape)} ${activation}`,
            );
            tf.dispose([
              a,
              b,
              ...(bias ? [bias] : []),
              ...(preluActivationWeights ? [preluActivationWeights] : []),
            ]);
          }
        }
      }
    }
  });

  test('a bias that grows the output goes through tfjs Add', () => {
    // tf.fused.matMul rejects such a bias before the kernel runs; the kernel itself accepts it.
    const a = randomTensor([m, k]);
    const b = randomTensor([k, n]);
    const bias = randomTensor([3, 1, n]);
    const { stock, native, shape } = bothWays(
      () =>
        tf.engine().runKernel(
          tf._FusedMatMul,
          { a, b, bias },
          {
            transposeA: false,
            transposeB: false,
            activation: 'relu',
          },
        ) as tf.Tensor,
    );
    expect(shape).toEqual([3, m, n]);
    expectClose(native, stock, 1e-5);
    tf.dispose([a, b, bias]);
  });
});

/** Values that exercise edge semantics: NaN, infinities, signed zeros, tiny and huge numbers. */
const SPECIAL = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1e-40,
  -1e-40,
  3e38,
  -3e38,
  1,
  -1,
  0.5,
  88.7,
  -103.5,
];

function specialTensor(shape: number[], scale = 3): tf.Tensor {
  const size = shape.reduce((x, y) => x * y, 1);
  const values = random(size, scale);
  for (let i = 0; i < size; i += 3) values[i] = SPECIAL[(i / 3) % SPECIAL.length] as number;
  return tf.tensor(values, shape);
}

/** Bit-for-bit equality, NaN equal to NaN and +0 distinct from −0. */
function expectIdentical(actual: Float32Array, expected: Float32Array, what = ''): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, tfjs gives ${expected[i]}`);
    }
  }
}

/** Within one float32 rounding of tfjs (our double evaluation vs tfjs's may straddle a tie). */
function expectWithinUlp(actual: Float32Array, expected: Float32Array, what = ''): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const x = actual[i] as number;
    if (Object.is(x, e)) continue;
    if (Math.abs(x - e) <= 1.2e-7 * Math.abs(e) + 1e-45) continue;
    throw new Error(`${what}: element ${i} is ${x}, tfjs gives ${e}`);
  }
}

const SHAPES = [[], [1], [7], [3, 5], [2, 1, 4], [2, 3, 4, 5], [0, 3]];

describe('elementwise kernels', () => {
  const exact: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['neg', tf.neg],
    ['abs', tf.abs],
    ['square', tf.square],
    ['relu', tf.relu],
    ['reciprocal', tf.reciprocal],
    ['step', (x) => tf.step(x)],
  ];
  const rounded: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['sqrt', tf.sqrt],
    ['rsqrt', tf.rsqrt],
    ['exp', tf.exp],
    ['erf', tf.erf],
    ['sigmoid', tf.sigmoid],
  ];

  test.each(exact)('%s is bit-identical to tfjs, special values included', (name, op) => {
    for (const shape of SHAPES) {
      const x = specialTensor(shape);
      const { stock, native } = bothWays(() => op(x));
      expectIdentical(native, stock, `${name} [${shape}]`);
      x.dispose();
    }
  });

  test.each(rounded)(
    '%s matches tfjs to the last float32 bit, special values included',
    (name, op) => {
      for (const shape of SHAPES) {
        const x = specialTensor(shape);
        const { stock, native } = bothWays(() => op(x));
        expectWithinUlp(native, stock, `${name} [${shape}]`);
        x.dispose();
      }
      // Long enough for the thread pool and the vector loops with their tails.
      const x = tf.tensor(random(300_001, 6), [300_001]);
      const { stock, native } = bothWays(() => op(x));
      expectWithinUlp(native, stock, `${name} long`);
      x.dispose();
    },
  );

  test('int32 inputs go to the tfjs kernels', () => {
    const x = tf.tensor1d([-3, 0, 5], 'int32');
    for (const op of [tf.neg, tf.abs, tf.square, tf.relu, tf.exp]) {
      const { stock, native, nativeCalls } = bothWays(() => op(x), false);
      expect(nativeCalls).toBe(0);
      expect(Array.from(native)).toEqual(Array.from(stock));
    }
    x.dispose();
  });

  test('step with an alpha other than 0 goes to the tfjs kernel', () => {
    const x = specialTensor([5, 7]);
    const { stock, native, nativeCalls } = bothWays(() => tf.step(x, 0.25), false);
    expect(nativeCalls).toBe(0);
    expectIdentical(native, stock, 'step alpha 0.25');
    expect(Array.from(native)).toContain(0.25);
    x.dispose();
  });

  const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['maximum', tf.maximum],
    ['minimum', tf.minimum],
    ['squaredDifference', tf.squaredDifference],
    ['pow', tf.pow],
  ];
  const pairs: [number[], number[]][] = [
    [
      [3, 4],
      [3, 4],
    ],
    [[3, 4], [4]],
    [[4], [3, 4]],
    [
      [3, 1],
      [1, 4],
    ],
    [
      [2, 3, 4],
      [3, 1],
    ],
    [[], [5]],
    [[5], []],
    [[1], [1]],
    [
      [2, 1, 3],
      [2, 4, 1],
    ],
    [
      [2, 3, 1, 2, 1, 2],
      [3, 2, 2, 1],
    ],
    [[0, 3], [3]],
    [[70, 300], [300]],
  ];

  test.each(binary)('%s with broadcasting is bit-identical to tfjs', (name, op) => {
    // One product large enough for the thread pool (tfjs's broadcasting loop is slow: only two ops).
    const large: [number[], number[]][] =
      name === 'add' || name === 'mul'
        ? [
            [
              [1100, 1000],
              [1100, 1],
            ],
          ]
        : [];
    for (const [aShape, bShape] of [...pairs, ...large]) {
      const a = specialTensor(aShape);
      const b = specialTensor(bShape, 2);
      const { stock, native } = bothWays(() => op(a, b));
      expectIdentical(native, stock, `${name} [${aShape}] [${bShape}]`);
      tf.dispose([a, b]);
    }
  });

  test('binary ops on int32 and shapes that do not broadcast go to tfjs', () => {
    const a = tf.tensor1d([1, 2, 3], 'int32');
    const { stock, native, dtype, nativeCalls } = bothWays(() => tf.add(a, a), false);
    expect(nativeCalls).toBe(0);
    expect(dtype).toBe('int32');
    expect(Array.from(native)).toEqual(Array.from(stock));
    registerNativeKernels();
    expect(() => tf.add(tf.zeros([2, 3]), tf.zeros([4]))).toThrow(/could not be broadcast/);
    a.dispose();
  });
});

describe('addon elementwise kernels on every ISA', () => {
  test('portable, AVX2 and AVX-512 loops agree', () => {
    const x = new Float32Array(1003);
    x.set(random(1003, 8));
    x.set(SPECIAL, 0);
    const results = (
      run: (isa: (typeof ISAS)[number], out: Float32Array) => void,
      length: number,
    ) =>
      ISAS.map((isa) => {
        const out = new Float32Array(length);
        run(isa, out);
        return out;
      });
    for (const op of UNARY_OP_NAMES) {
      const [portable, ...vector] = results((isa, out) => addon.unaryOp(op, x, out, isa), x.length);
      vector.forEach((out) => expectWithinUlp(out, portable as Float32Array, `${op}`));
    }
    const y = x.subarray(0, 17);
    for (const op of [
      'add',
      'sub',
      'mul',
      'div',
      'maximum',
      'minimum',
      'squaredDifference',
      'pow',
    ] as const) {
      const [portable, ...vector] = results(
        (isa, out) => addon.binaryOp(op, x.subarray(0, 59 * 17), [59, 17], y, [17], out, isa),
        59 * 17,
      );
      vector.forEach((out) => expectIdentical(out, portable as Float32Array, `${op}`));
    }
    for (const op of ['sum', 'mean', 'max', 'min'] as const) {
      for (const [outer, size, inner] of [
        [59, 17, 1],
        [1, 59, 17],
        [3, 17, 19],
      ] as const) {
        const [portable, ...vector] = results(
          (isa, out) =>
            addon.reduceOp(op, x.subarray(0, outer * size * inner), out, outer, size, inner, isa),
          outer * inner,
        );
        vector.forEach((out) =>
          expectWithinUlp(out, portable as Float32Array, `${op} ${outer} ${size} ${inner}`),
        );
      }
    }
    const logits = random(59 * 17, 10);
    const [portable, ...vector] = results(
      (isa, out) => addon.softmax(logits, out, 59, 17, isa),
      59 * 17,
    );
    vector.forEach((out) => expectWithinUlp(out, portable as Float32Array, 'softmax'));
  });

  test('bad arguments throw TypeError / RangeError naming them', () => {
    const x = new Float32Array(6);
    expectNativeError(
      () => addon.unaryOp('gelu' as 'exp', x, x),
      'RangeError',
      /for op but received string 'gelu'/,
    );
    expectNativeError(
      () => addon.unaryOp('exp', x, new Float32Array(5)),
      'RangeError',
      /out\.length/,
    );
    expectNativeError(
      () => addon.unaryOp('exp', x.subarray(0, 4), x.subarray(2, 6)),
      'RangeError',
      /overlap x/,
    );
    expectNativeError(
      () => addon.binaryOp('add', x, [2, 3], x, [2], new Float32Array(6)),
      'RangeError',
      /b\.length/,
    );
    expectNativeError(
      () => addon.binaryOp('add', x, [2, 3], x.subarray(0, 2), [2], new Float32Array(6)),
      'RangeError',
      /broadcast/,
    );
    expectNativeError(
      () => addon.binaryOp('add', x, [2, 3.5] as number[], x, [6], new Float32Array(6)),
      'RangeError',
      /aShape\[1\]/,
    );
    expectNativeError(
      () => addon.reduceOp('sum', x, new Float32Array(2), 2, 0, 3),
      'RangeError',
      /size/,
    );
    expectNativeError(
      () => addon.transpose(x, new Float32Array(6), [2, 3], [0, 0]),
      'RangeError',
      /permutation/,
    );
    expectNativeError(
      () => addon.copyBox(x, [2, 3], [1, 0], new Float32Array(6), [2, 3], [0, 0], [2, 3]),
      'RangeError',
      /inside src and dst/,
    );
    expectNativeError(
      () => addon.softmax(x, new Float32Array(6), 2, 3, 'sse' as 'avx2'),
      'RangeError',
      /for isa/,
    );
  });
});

describe('reductions', () => {
  const cases: [number[], number | number[] | undefined][] = [
    [[5, 7], -1],
    [[5, 7], 0],
    [[5, 7], 1],
    [[4, 3, 6], 1],
    [
      [4, 3, 6],
      [1, 2],
    ],
    [
      [4, 3, 6],
      [0, 1],
    ],
    [
      [4, 3, 6],
      [0, 2],
    ], // not one block: tfjs's kernel
    [
      [4, 1, 6],
      [0, 2],
    ], // one block once the size-1 axis is ignored
    [[4, 3, 6], undefined],
    [[9], 0],
    [
      [2, 3, 1, 5],
      [2, 3],
    ],
    [[2176, 64], 0],
    [[600, 700], 1],
  ];
  const ops: [
    string,
    (x: tf.Tensor, axis: number | number[] | undefined, keepDims: boolean) => tf.Tensor,
  ][] = [
    ['sum', (x, axis, keepDims) => tf.sum(x, axis, keepDims)],
    ['mean', (x, axis, keepDims) => tf.mean(x, axis, keepDims)],
    ['max', (x, axis, keepDims) => tf.max(x, axis, keepDims)],
    ['min', (x, axis, keepDims) => tf.min(x, axis, keepDims)],
  ];

  test.each(ops)('%s matches tfjs over every layout, keepDims or not', (name, op) => {
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        const x = name === 'sum' || name === 'mean' ? randomTensor(shape, 5) : specialTensor(shape);
        const fallback =
          shape.length === 3 &&
          Array.isArray(axis) &&
          axis[0] === 0 &&
          axis[1] === 2 &&
          shape[1] !== 1;
        const { stock, native, shape: outShape } = bothWays(() => op(x, axis, keepDims), !fallback);
        expect(outShape).toEqual(tf.tidy(() => op(x, axis, keepDims).shape));
        if (name === 'max' || name === 'min')
          expectIdentical(native, stock, `${name} [${shape}] ${axis}`);
        else expectWithinUlp(native, stock, `${name} [${shape}] ${axis}`);
        x.dispose();
      }
    }
  });

  test('max keeps the first of equal zeros and propagates NaN, as tfjs', () => {
    const x = tf.tensor2d([-0, 0, -1, 0, -0, -2, 1, NaN, 2, -0, -0, -0], [4, 3]);
    for (const axis of [0, 1]) {
      for (const op of [tf.max, tf.min]) {
        const { stock, native } = bothWays(() => op(x, axis));
        expectIdentical(native, stock);
      }
    }
    x.dispose();
  });
});

describe('layout kernels', () => {
  test('transpose matches tfjs for every permutation of ranks 1 to 4 and a rank-6 case', () => {
    const permutations = (n: number): number[][] =>
      n === 0
        ? [[]]
        : permutations(n - 1).flatMap((p) =>
            Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
          );
    for (const shape of [[5], [3, 4], [2, 1, 5], [3, 4, 2, 5], [2, 3, 1, 4]]) {
      const x = randomTensor(shape);
      for (const perm of permutations(shape.length)) {
        // tf.transpose clones instead of calling the kernel for the identity.
        const identity = perm.every((axis, index) => axis === index);
        const { stock, native } = bothWays(() => tf.transpose(x, perm), !identity);
        expectIdentical(native, stock, `[${shape}] ${perm}`);
      }
      x.dispose();
    }
    const x = randomTensor([2, 3, 2, 4, 1, 3]);
    const { stock, native } = bothWays(() => tf.transpose(x, [5, 0, 3, 1, 4, 2]));
    expectIdentical(native, stock);
    x.dispose();
  });

  test('softmax matches tfjs', () => {
    for (const shape of [
      [4, 7],
      [2, 3, 17],
      [1, 1],
      [5, 40],
    ]) {
      const x = randomTensor(shape, 20);
      const { stock, native } = bothWays(() => tf.softmax(x));
      expectWithinUlp(native, stock, `[${shape}]`);
      x.dispose();
    }
  });

  test('slice, split, pad and concat match tfjs', () => {
    const x = randomTensor([4, 5, 6]);
    const slices: [number[], number[]][] = [
      [
        [0, 0, 0],
        [4, 5, 6],
      ],
      [
        [1, 0, 0],
        [2, 5, 6],
      ], // contiguous: tfjs's view
      [
        [0, 1, 2],
        [4, 3, 3],
      ],
      [
        [3, 4, 5],
        [1, 1, 1],
      ],
      [
        [0, 2, 0],
        [-1, 1, -1],
      ],
    ];
    for (const [begin, size] of slices) {
      // Contiguous boxes stay with tfjs, which returns a view of the input.
      const [b, z] = tf.slice_util.parseSliceParams(x, begin, size);
      const contiguous = tf.slice_util.isSliceContinous(x.shape, b as number[], z as number[]);
      const { stock, native } = bothWays(() => tf.slice(x, begin, size), !contiguous);
      expectIdentical(native, stock, `slice ${begin} ${size}`);
    }
    for (const [splits, axis] of [
      [2, 0],
      [[1, 4], 1],
      [[2, -1, 1], 2],
    ] as [number | number[], number][]) {
      unregisterNativeKernels();
      const stock = tf.split(x, splits, axis).map((t) => t.dataSync() as Float32Array);
      registerNativeKernels();
      const native = tf.split(x, splits, axis).map((t) => t.dataSync() as Float32Array);
      expect(native.length).toBe(stock.length);
      native.forEach((piece, i) =>
        expectIdentical(piece, stock[i] as Float32Array, `split ${splits}`),
      );
    }
    for (const constant of [0, 1.5]) {
      const { stock, native } = bothWays(() =>
        tf.pad(
          x,
          [
            [1, 0],
            [0, 2],
            [3, 1],
          ],
          constant,
        ),
      );
      expectIdentical(native, stock, `pad ${constant}`);
    }
    const y = randomTensor([4, 2, 6]);
    const empty = randomTensor([4, 0, 6]);
    for (const [tensors, axis] of [
      [[x, y], 1],
      [[x, x], 0],
      [[x, x, x], 2],
      [[x, empty, y], 1],
    ] as [tf.Tensor[], number][]) {
      const { stock, native } = bothWays(() => tf.concat(tensors, axis));
      expectIdentical(native, stock, `concat ${axis}`);
    }
    tf.dispose([x, y, empty]);
  });

  test('tile and broadcastTo match tfjs for every rank and mix of repeats', () => {
    for (const [shape, reps] of [
      [[5], [3]],
      [
        [1, 1, 64],
        [128, 1, 1],
      ], // the ViT's cls token broadcast to a batch
      [
        [2, 3],
        [2, 1],
      ],
      [
        [2, 3],
        [1, 4],
      ],
      [
        [2, 3, 4],
        [3, 2, 2],
      ],
      [
        [3, 1, 2, 5],
        [2, 3, 1, 2],
      ],
      [
        [4, 5],
        [1, 1],
      ],
    ] as [number[], number[]][]) {
      const x = randomTensor(shape);
      const { stock, native } = bothWays(() => tf.tile(x, reps));
      expectIdentical(native, stock, `tile [${shape}] × [${reps}]`);
      x.dispose();
    }
    const row = randomTensor([1, 7]);
    const { stock, native } = bothWays(() => tf.broadcastTo(row, [6, 7]));
    expectIdentical(native, stock, 'broadcastTo');
    row.dispose();
    // Other dtypes stay with tfjs's kernel.
    registerNativeKernels();
    const ints = tf.tile(tf.tensor1d([1, 2], 'int32'), [3]);
    expect(Array.from(ints.dataSync())).toEqual([1, 2, 1, 2, 1, 2]);
    ints.dispose();
  });
});

describe('registration', () => {
  test('register saves tfjs kernels and unregister puts the same ones back', () => {
    const stock = nativeKernelConfigs.map((config) => tf.getKernel(config.kernelName, 'cpu'));
    expect(registerNativeKernels()).toBe(true);
    expect(nativeKernelsRegistered()).toBe(true);
    expect(nativeKernelsStatus()).toBeNull();
    for (const config of nativeKernelConfigs) {
      expect(tf.getKernel(config.kernelName, 'cpu')).toBe(config);
    }
    expect(registerNativeKernels()).toBe(true); // idempotent
    unregisterNativeKernels();
    expect(nativeKernelsRegistered()).toBe(false);
    nativeKernelConfigs.forEach((config, index) => {
      expect(tf.getKernel(config.kernelName, 'cpu')).toBe(stock[index]);
    });
    unregisterNativeKernels(); // idempotent
  });

  test('registering raises glibc malloc’s thresholds, unless SUPERLORA_MALLOC_TUNING=0', () => {
    const glibc = Boolean(
      (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header
        .glibcVersionRuntime,
    );
    unregisterNativeKernels();
    expect(registerNativeKernels({ env: { SUPERLORA_MALLOC_TUNING: '0' } })).toBe(true);
    expect(allocatorTuned()).toBe(false);
    unregisterNativeKernels();
    expect(registerNativeKernels({ env: {} })).toBe(true);
    expect(allocatorTuned()).toBe(glibc);
    expect(addon.tuneAllocator!(32 << 20, 256 << 20)).toBe(glibc);
    expect(() => addon.tuneAllocator!(64 << 20, 0)).toThrow(
      /integer in \[0, 33554432\] for mmapThreshold but received number 67108864/,
    );
    expect(() => addon.tuneAllocator!(0, -1)).toThrow(/for trimThreshold but received number -1/);
  });

  test('SUPERLORA_NATIVE_KERNELS=0 keeps tfjs kernels', () => {
    expect(registerNativeKernels({ env: { SUPERLORA_NATIVE_KERNELS: '0' } })).toBe(false);
    expect(nativeKernelsRegistered()).toBe(false);
    expect(nativeKernelsStatus()).toMatch(/SUPERLORA_NATIVE_KERNELS=0/);
  });
});

/**
 * The gradients of `fusedLoss` with the native kernels registered agree with those of
 * `composedLoss` on tfjs's own kernels (relative to each gradient's largest entry), and the fused
 * backward leaves nothing behind but the gradients.
 */
function expectFusedGradsAgree(
  composedLoss: (...inputs: tf.Tensor[]) => tf.Tensor,
  fusedLoss: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
): void {
  const composed = tf.grads(composedLoss)(inputs);
  expect(registerNativeKernels()).toBe(true);
  const before = tf.memory().numTensors;
  const fused = tf.grads(fusedLoss)(inputs);
  expect(tf.memory().numTensors).toBe(before + inputs.length);
  fused.forEach((grad, i) => {
    const expected = (composed[i] as tf.Tensor).dataSync();
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(scale).toBeGreaterThan(0.01);
    expect(maxAbsDiff(grad.dataSync(), expected) / scale).toBeLessThan(1e-5);
  });
  tf.dispose([...composed, ...fused]);
}

describe('fused LayerNorm, GELU and row softmax (src/vit/fusedOps.ts)', () => {
  const x = () => tf.tensor2d(random(37 * 24, 3), [37, 24]);
  const gamma = tf.tensor1d(random(24, 0.5).map((v) => 1 + v));
  const beta = tf.tensor1d(random(24));
  const upstream = tf.tensor2d(random(37 * 24), [37, 24]);

  test('are used only with the native kernels, and agree with the composed ops', () => {
    const input = x();
    const composed = composedLayerNorm(input, gamma, beta, 1e-5);
    const composedG = composedGelu(input);
    const composedS = composedRowSoftmax(input);
    expect(tf.getKernel(LAYER_NORM, 'cpu')).toBeUndefined();
    expect(layerNorm(input, gamma, beta, 1e-5).dataSync()).toEqual(composed.dataSync());
    expect(registerNativeKernels()).toBe(true);
    expect(tf.getKernel(LAYER_NORM, 'cpu')).toBeDefined();
    const fused = layerNorm(input, gamma, beta, 1e-5);
    expect(maxAbsDiff(fused.dataSync(), composed.dataSync())).toBeLessThan(2e-6);
    // GELU: the same float32 steps on the same erf kernel; softmax: tfjs's Softmax composition.
    expect(gelu(input).dataSync()).toEqual(composedG.dataSync());
    expect(rowSoftmax(input).dataSync()).toEqual(composedS.dataSync());
    tf.dispose([input, composed, composedG, composedS, fused]);
  });

  test('a tensor that is not float32 is refused with its kernel, input, dtype and shape', () => {
    expect(registerNativeKernels()).toBe(true);
    const ints = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    expect(() => tf.engine().runKernel(GELU, { x: ints })).toThrow(
      'SuperloraGelu: expected a dense float32 tensor for x but received dtype int32, shape [2, 2]',
    );
    ints.dispose();
  });

  test('their gradients agree with the composed ops for x, gamma and beta, leaking nothing', () => {
    const input = x();
    const lossOf =
      (norm: typeof layerNorm, act: typeof gelu, softmax: typeof rowSoftmax) =>
      (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar =>
        softmax(act(norm(a as tf.Tensor2D, g, b, 1e-5)))
          .mul(upstream)
          .sum();
    expectFusedGradsAgree(
      lossOf(composedLayerNorm, composedGelu, composedRowSoftmax),
      lossOf(layerNorm, gelu, rowSoftmax),
      [input, gamma, beta],
    );
    input.dispose();
  });
});

describe('fused Linear (src/vit/fusedOps.ts)', () => {
  const [rows, inputs, outputs] = [37, 24, 13];
  const x = tf.tensor2d(random(rows * inputs), [rows, inputs]);
  const weight = tf.tensor2d(random(outputs * inputs), [outputs, inputs]);
  const bias = tf.tensor1d(random(outputs));
  const upstream = tf.tensor2d(random(rows * outputs), [rows, outputs]);
  /** x·Wᵀ + b from tfjs's own matMul and add: the definition. */
  const composed = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D, false, true).add(b);

  test('is used only with the native kernels, and agrees with matMul + add', async () => {
    const want = composed(x, weight, bias);
    expect(tf.getKernel(LINEAR, 'cpu')).toBeUndefined();
    expect(maxAbsDiff(linear(x, weight, bias).dataSync(), want.dataSync())).toBeLessThan(1e-6);
    expect(registerNativeKernels()).toBe(true);
    const fused = await tf.profile(() => linear(x, weight, bias));
    expect(fused.kernelNames).toEqual([LINEAR]);
    const result = fused.result as tf.Tensor;
    expect(maxAbsDiff(result.dataSync(), want.dataSync())).toBeLessThan(1e-5);
    // Without a bias it is a plain matMul.
    const plain = await tf.profile(() => linear(x, weight, undefined));
    expect(plain.kernelNames).toEqual(['BatchMatMul']);
    tf.dispose([want, result, plain.result as tf.Tensor]);
  });

  test('refuses shapes that are not x [rows, in], weight [out, in], bias [out]', () => {
    expect(registerNativeKernels()).toBe(true);
    const wrongBias = tf.tensor1d(random(outputs + 1));
    expect(() => tf.engine().runKernel(LINEAR, { x, weight, bias: wrongBias })).toThrow(
      'SuperloraLinear: expected x [rows, in], weight [out, in] and bias [out] but received [37, 24], [13, 24] and 14 values',
    );
    expect(() => tf.engine().runKernel(LINEAR, { x, weight: x, bias })).toThrow(
      'SuperloraLinear: expected x [rows, in], weight [out, in] and bias [out]',
    );
    wrongBias.dispose();
  });

  test('its gradients for x, weight and bias agree with matMul + add, leaking nothing', () => {
    const loss =
      (f: typeof composed) =>
      (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Scalar =>
        f(a, w, b).mul(upstream).sum();
    expectFusedGradsAgree(
      loss(composed),
      loss((a, w, b) => linear(a as tf.Tensor2D, w, b)),
      [x, weight, bias],
    );
  });

  test('the backward pass computes only the gradients asked for: none for a frozen weight', async () => {
    expect(registerNativeKernels()).toBe(true);
    const lossOfX = (a: tf.Tensor): tf.Scalar =>
      linear(a as tf.Tensor2D, weight, bias)
        .mul(upstream)
        .sum();
    const onlyX = await tf.profile(() => tf.grad(lossOfX)(x));
    // Forward: the Linear, the product with upstream, the sum; backward: one product dy·W.
    // (kernelNames lists each name once; kernels has every run.)
    const count = (info: { kernels: Array<{ name: string }> }, name: string) =>
      info.kernels.filter((kernel) => kernel.name === name).length;
    expect(count(onlyX, 'BatchMatMul')).toBe(1);
    expect(count(onlyX, 'Sum')).toBe(1);
    const dx = onlyX.result as tf.Tensor;
    const want = tf.grad((a: tf.Tensor) => composed(a, weight, bias).mul(upstream).sum())(x);
    expect(maxAbsDiff(dx.dataSync(), want.dataSync())).toBeLessThan(1e-5);
    // tf.fused.matMul, a tf.customGrad, computes the weight's and the bias's gradient as well.
    const stock = await tf.profile(() =>
      tf.grad((a: tf.Tensor) =>
        tf.fused
          .matMul({ a: a as tf.Tensor2D, b: weight as tf.Tensor2D, transposeB: true, bias })
          .mul(upstream)
          .sum(),
      )(x),
    );
    expect(count(stock, 'BatchMatMul')).toBe(2);
    expect(count(stock, 'Sum')).toBe(2);
    tf.dispose([dx, want, stock.result as tf.Tensor]);
  });
});

describe('fused attention (src/vit/fusedOps.ts)', () => {
  // Odd sizes on purpose: 5 tokens, 3 heads of 7, a batch of 2.
  const [batch, tokens, heads, headSize] = [2, 5, 3, 7];
  const shape: [number, number] = [batch * tokens, heads * headSize];
  const inputs = () =>
    [11, 12, 13].map((seed) => tf.tensor2d(random(shape[0] * shape[1], 1.5 + seed / 100), shape));
  const upstream = tf.tensor2d(random(shape[0] * shape[1]), shape);
  const noDropout = new Dropout(false, undefined);
  const run = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, dropout = noDropout, rate = 0) =>
    attention(
      q as tf.Tensor2D,
      k as tf.Tensor2D,
      v as tf.Tensor2D,
      batch,
      tokens,
      heads,
      dropout,
      rate,
    );

  test('is used only with the native kernels and without dropout, and agrees with the composed ops', async () => {
    const [q, k, v] = inputs() as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const composed = run(q, k, v);
    expect(registerNativeKernels()).toBe(true);
    const fused = await tf.profile(() => run(q, k, v));
    // The custom gradient's wrapper shows as a kernel without a name.
    expect(fused.kernelNames).toEqual([ATTENTION, '']);
    expect(maxAbsDiff((fused.result as tf.Tensor).dataSync(), composed.dataSync())).toBeLessThan(
      2e-6,
    );
    // With dropout active the composed ops run, dropout and all.
    const training = await tf.profile(() => run(q, k, v, new Dropout(true, 7), 0.5));
    expect(training.kernelNames).not.toContain(ATTENTION);
    expect(training.kernelNames).toContain('BatchMatMul');
    tf.dispose([q, k, v, composed, fused.result as tf.Tensor, training.result as tf.Tensor]);
  });

  test('its gradients for q, k and v agree with the composed ops, leaking nothing', () => {
    const [q, k, v] = inputs() as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Scalar =>
      run(a, b, c).mul(upstream).sum();
    // The same loss both times: registering the native kernels switches attention to the fused one.
    expectFusedGradsAgree(loss, loss, [q, k, v]);
    tf.dispose([q, k, v]);
  });
});

describe('ViT training step', () => {
  test('same loss and gradients with and without the native kernels', () => {
    const vit = randomizedViT(undefined, 3);
    const pixels = randomPixels(vit.config, 4, 5);
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), vit.config.numLabels);
    const variables = [...vit.weights.values()];
    const step = (): { loss: number; grads: Map<string, Float32Array> } => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, vit.forward(pixels)) as tf.Scalar,
        variables,
      );
      const result = {
        loss: value.dataSync()[0] as number,
        grads: new Map(
          Object.entries(grads).map(([name, grad]) => [name, grad.dataSync() as Float32Array]),
        ),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return result;
    };
    unregisterNativeKernels();
    const stock = step();
    expect(registerNativeKernels()).toBe(true);
    const native = step();
    unregisterNativeKernels();
    expect(Math.abs(native.loss - stock.loss)).toBeLessThan(1e-5 * (1 + Math.abs(stock.loss)));
    expect([...native.grads.keys()]).toEqual([...stock.grads.keys()]);
    for (const [name, grad] of stock.grads) {
      // Some gradients vanish analytically (the key bias: softmax ignores a per-row shift) and
      // hold only rounding noise, so the scale has a floor.
      const scale = Math.max(...Array.from(grad, Math.abs), 1e-2);
      const nativeGrad = native.grads.get(name) as Float32Array;
      const worst = Math.max(
        ...Array.from(grad, (g, i) => Math.abs(g - (nativeGrad[i] as number))),
      );
      expect({ name, error: worst / scale < 1e-4 }).toEqual({ name, error: true });
    }
    tf.dispose([pixels, labels]);
    vit.dispose();
  });
});
