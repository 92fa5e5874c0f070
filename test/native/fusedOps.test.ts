/**
 * The fused LayerNorm, GELU, softmax-gradient and attention kernels of native/ops/fused_ops.h against float64
 * computations from their definitions, central differences for the gradients, the tfjs-op composition they
 * replace (GELU: bit for bit), thread-count independence and argument checks.
 */
import type { IsaName } from '../../src/native/addonTypes';
import { loadAddon } from '../../src/native/loadAddon';
import { centralDifference } from '../reference/centralDifference';
import { erf64 } from '../vit/reference64';
import { uniforms } from '../vit/tinyVit';
import { expectNativeError } from './expectNativeError';

const addon = loadAddon();

/** LayerNorm of x [rows, width] in float64, straight from nn.LayerNorm's definition. */
function layerNorm64(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
  rows: number,
): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const width = gamma.length;
  const y = new Float64Array(rows * width);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < width; j++) sum += x[r * width + j] as number;
    const mu = sum / width;
    let squares = 0;
    for (let j = 0; j < width; j++) squares += ((x[r * width + j] as number) - mu) ** 2;
    const inverse = 1 / Math.sqrt(squares / width + eps);
    mean[r] = mu;
    rstd[r] = inverse;
    for (let j = 0; j < width; j++) {
      y[r * width + j] =
        ((x[r * width + j] as number) - mu) * inverse * (gamma[j] as number) + (beta[j] as number);
    }
  }
  return { y, mean, rstd };
}

function runLayerNorm(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  eps: number,
): { y: Float32Array; mean: Float32Array; rstd: Float32Array } {
  const rows = gamma.length === 0 ? 0 : x.length / gamma.length;
  const out = {
    y: new Float32Array(x.length),
    mean: new Float32Array(rows),
    rstd: new Float32Array(rows),
  };
  addon.layerNorm(x, gamma, beta, eps, out.y, out.mean, out.rstd);
  return out;
}

function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    worst = Math.max(worst, Math.abs((actual[i] as number) - e) / (1 + Math.abs(e)));
  }
  return worst;
}

/** Values spread over [offset − scale/2, offset + scale/2). */
function spread(seed: number, count: number, scale = 4, offset = 0): Float32Array {
  return uniforms(seed, count).map((u) => offset + scale * u);
}

describe('layerNorm', () => {
  test.each([
    [1, 1],
    [3, 2],
    [17, 64],
    [5, 1000],
    [0, 8],
  ])('matches float64 LayerNorm, %i rows × %i, with its mean and rstd', (rows, width) => {
    // An offset of 10 makes a one-pass variance (E[x²] − E[x]²) lose digits; the result must not.
    const x = spread(rows * 31 + width, rows * width, 6, 10);
    const gamma = spread(width + 1, width, 1, 1);
    const beta = spread(width + 2, width);
    const eps = 1e-5;
    const { y, mean, rstd } = runLayerNorm(x, gamma, beta, eps);
    const expected = layerNorm64(x, gamma, beta, eps, rows);
    expect(maxRelativeError(y, expected.y)).toBeLessThan(width === 1 ? 1e-6 : 2e-6);
    expect(maxRelativeError(mean, expected.mean)).toBeLessThan(1e-7);
    expect(maxRelativeError(rstd, expected.rstd)).toBeLessThan(1e-6);
    // x̂ has unit variance per row, so y − beta is not all small.
    if (rows > 0 && width > 1) {
      const shifts = Array.from(y, (v, i) => Math.abs(v - (beta[i % width] as number)));
      expect(Math.max(...shifts)).toBeGreaterThan(0.5);
    }
  });

  test('a constant row is beta (the variance is 0, eps keeps rstd finite)', () => {
    const { y, rstd } = runLayerNorm(
      new Float32Array(4).fill(3),
      Float32Array.of(1, 2, 3, 4),
      Float32Array.of(0.5, -1, 0, 2),
      1e-12,
    );
    expect(Array.from(y)).toEqual([0.5, -1, 0, 2]);
    expect(rstd[0]).toBeCloseTo(1e6, -1);
  });

  test('the input gradient matches central differences of float64 LayerNorm', () => {
    const rows = 3;
    const width = 7;
    const x = spread(41, rows * width, 4, 1);
    const gamma = spread(42, width, 1, 1);
    const beta = spread(43, width);
    const dy = spread(44, rows * width, 2);
    const eps = 1e-5;
    const { mean, rstd } = runLayerNorm(x, gamma, beta, eps);
    const dx = new Float32Array(x.length);
    addon.layerNormInputGrad(dy, x, gamma, mean, rstd, dx);
    const x64 = Float64Array.from(x);
    const loss = (): number =>
      layerNorm64(x64, gamma, beta, eps, rows).y.reduce((s, v, i) => s + v * (dy[i] as number), 0);
    const h = 1e-6;
    for (let i = 0; i < x.length; i++) {
      const numeric = centralDifference(x64, i, h, loss);
      expect(Math.abs((dx[i] as number) - numeric)).toBeLessThan(2e-5 * (1 + Math.abs(numeric)));
    }
    // The gradient of a LayerNorm is orthogonal to the row's ones and to x̂: not all zeros.
    expect(Math.max(...Array.from(dx, Math.abs))).toBeGreaterThan(0.1);
  });

  test('the gain gradient is Σ_rows dy · x̂, and the same on 1 and 2 threads', () => {
    // 2 Mi floats, so the sums run on the pool.
    const rows = 4096;
    const width = 512;
    const x = spread(51, rows * width, 4, 2);
    const gamma = spread(52, width, 1, 1);
    const dy = spread(53, rows * width, 2);
    const { mean, rstd } = runLayerNorm(x, gamma, new Float32Array(width), 1e-5);
    const expected = new Float64Array(width);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < width; j++) {
        const xHat = Math.fround(
          Math.fround((x[r * width + j] as number) - (mean[r] as number)) * (rstd[r] as number),
        );
        expected[j] = (expected[j] as number) + (dy[r * width + j] as number) * xHat;
      }
    }
    const threads = addon.getThreads();
    const results = [1, 2].map((count) => {
      addon.setThreads(count);
      const dgamma = new Float32Array(width);
      addon.layerNormGammaGrad(dy, x, mean, rstd, dgamma);
      return dgamma;
    });
    addon.setThreads(threads);
    expect(maxRelativeError(results[0] as Float32Array, expected)).toBeLessThan(1e-6);
    expect(results[1]).toEqual(results[0]);
  });

  test('bad arguments throw naming them', () => {
    const x = new Float32Array(6);
    const gamma = new Float32Array(3);
    const beta = new Float32Array(3);
    const y = new Float32Array(6);
    const stats = (): Float32Array => new Float32Array(2);
    expectNativeError(
      () => addon.layerNorm(x, gamma, new Float32Array(2), 1e-5, y, stats(), stats()),
      'RangeError',
      /beta\.length to be gamma\.length = 3 but received 2/,
    );
    expectNativeError(
      () => addon.layerNorm(x, gamma, beta, -1, y, stats(), stats()),
      'RangeError',
      /finite number >= 0 for eps but received number -1/,
    );
    expectNativeError(
      () => addon.layerNorm(x, gamma, beta, 1e-5, x, stats(), stats()),
      'RangeError',
      'Expected y not to overlap x',
    );
    const shared = stats();
    expectNativeError(
      () => addon.layerNorm(x, gamma, beta, 1e-5, y, shared, shared),
      'RangeError',
      'Expected mean not to overlap rstd',
    );
    expectNativeError(
      () => addon.layerNorm(new Float32Array(5), gamma, beta, 1e-5, y, stats(), stats()),
      'RangeError',
      /x\.length to be mean\.length · gamma\.length = 6 but received 5/,
    );
    expectNativeError(
      () => addon.layerNormInputGrad(x, x, gamma, stats(), stats(), new Float32Array(4)),
      'RangeError',
      /dx\.length/,
    );
    expectNativeError(
      () => addon.layerNormGammaGrad(x, x, stats(), stats(), x.subarray(0, 3)),
      'RangeError',
      'Expected dgamma not to overlap dy',
    );
  });
});

describe('gelu', () => {
  const x = spread(61, 5000, 12);
  const gelu64 = (v: number): number => 0.5 * v * (1 + erf64(v / Math.SQRT2));

  test('matches ½x(1 + erf(x/√2)) in float64', () => {
    const y = new Float32Array(x.length);
    addon.gelu(x, y);
    expect(maxRelativeError(y, Array.from(x, gelu64))).toBeLessThan(5e-7);
  });

  test('is bit for bit the tfjs-op composition on the native kernels, on every ISA, in place too', () => {
    // x · (1/√2) (a float32 scalar), erf, + 1, · x, · ½, each rounded to float32, as layers.ts
    // composes it; erf is the native kernel of the same ISA.
    const composedOn = (isa?: IsaName): Float32Array => {
      const t = x.map((v) => v * Math.fround(Math.SQRT1_2));
      addon.unaryOp('erf', t, t, isa);
      return x.map((v, i) => Math.fround(v * Math.fround((t[i] as number) + 1)) * 0.5);
    };
    for (const isa of ['portable', 'avx2', 'avx512'] as const) {
      const composed = composedOn(isa);
      const y = new Float32Array(x.length);
      addon.gelu(x, y, isa);
      expect({ isa, same: y.every((v, i) => Object.is(v, composed[i])) }).toEqual({
        isa,
        same: true,
      });
    }
    const inPlace = x.slice();
    addon.gelu(inPlace, inPlace);
    expect(inPlace).toEqual(composedOn());
  });

  test('the backward matches central differences of the float64 GELU', () => {
    // Within |x| < 5, where erf64 is a smooth series (it clamps to ±1 beyond 4·√2).
    const x = spread(63, 5000, 10);
    const dy = spread(62, x.length, 2);
    const dx = new Float32Array(x.length);
    addon.geluBackward(dy, x, dx);
    // erf64 is accurate to ~1e-13, so a smaller step would difference its own error.
    const h = 1e-3;
    let worst = 0;
    x.forEach((v, i) => {
      const numeric = ((gelu64(v + h) - gelu64(v - h)) / (2 * h)) * (dy[i] as number);
      worst = Math.max(worst, Math.abs((dx[i] as number) - numeric) / (1 + Math.abs(numeric)));
    });
    expect(worst).toBeLessThan(2e-6);
    const inPlace = dy.slice();
    addon.geluBackward(inPlace, x, inPlace);
    expect(inPlace).toEqual(dx);
  });

  test('bad arguments throw naming them', () => {
    expectNativeError(
      () => addon.gelu(new Float32Array(3), new Float32Array(4)),
      'RangeError',
      /y\.length to be x\.length = 3 but received 4/,
    );
    const data = new Float32Array(8);
    expectNativeError(
      () => addon.gelu(data.subarray(0, 4), data.subarray(2, 6)),
      'RangeError',
      /not to overlap x/,
    );
    expectNativeError(
      () => addon.geluBackward(new Float32Array(2), new Float32Array(3), new Float32Array(3)),
      'RangeError',
      /dy\.length to be x\.length = 3 but received 2/,
    );
  });
});

describe('softmaxBackward', () => {
  const softmax64 = (row: ArrayLike<number>): number[] => {
    const max = Math.max(...Array.from(row));
    const exps = Array.from(row, (v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  };

  test('matches central differences of Σ dy · softmax(x) per row, in place too', () => {
    const rows = 6;
    const cols = 17;
    const x = spread(71, rows * cols, 8);
    const dy = spread(72, rows * cols, 2);
    const y = new Float32Array(x.length);
    addon.softmax(x, y, rows, cols);
    const dx = new Float32Array(x.length);
    addon.softmaxBackward(dy, y, dx, rows, cols);
    const h = 1e-6;
    for (let r = 0; r < rows; r++) {
      const row = Float64Array.from(x.subarray(r * cols, (r + 1) * cols));
      const loss = (): number =>
        softmax64(row).reduce((s, v, j) => s + v * (dy[r * cols + j] as number), 0);
      for (let j = 0; j < cols; j++) {
        const numeric = centralDifference(row, j, h, loss);
        expect(Math.abs((dx[r * cols + j] as number) - numeric)).toBeLessThan(
          1e-6 * (1 + Math.abs(numeric)),
        );
      }
    }
    expect(Math.max(...Array.from(dx, Math.abs))).toBeGreaterThan(0.05);
    const inPlace = dy.slice();
    addon.softmaxBackward(inPlace, y, inPlace, rows, cols);
    expect(inPlace).toEqual(dx);
  });

  test('bad arguments throw naming them', () => {
    const y = new Float32Array(6);
    expectNativeError(
      () => addon.softmaxBackward(new Float32Array(5), y, new Float32Array(6), 2, 3),
      'RangeError',
      /dy\.length to be rows · cols = 6 but received 5/,
    );
    expectNativeError(
      () => addon.softmaxBackward(new Float32Array(6), y, y, 2, 3),
      'RangeError',
      /not to overlap y/,
    );
    expectNativeError(
      () => addon.softmaxBackward(y, y, new Float32Array(6), 2.5, 3),
      'RangeError',
      /rows/,
    );
  });
});

describe('attention', () => {
  /** Per batch and head of q, k, v [B·T, H·d]: softmax(Q Kᵀ · scale) V, in float64. */
  function attention64(
    q: ArrayLike<number>,
    k: ArrayLike<number>,
    v: ArrayLike<number>,
    [batch, tokens, heads, headSize]: readonly [number, number, number, number],
    scale: number,
  ): { out: Float64Array; probs: Float64Array } {
    const width = heads * headSize;
    const out = new Float64Array(batch * tokens * width);
    const probs = new Float64Array(batch * heads * tokens * tokens);
    const at = (x: ArrayLike<number>, b: number, t: number, h: number, c: number): number =>
      x[(b * tokens + t) * width + h * headSize + c] as number;
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < tokens; i++) {
          const scores = Array.from({ length: tokens }, (_, j) => {
            let dot = 0;
            for (let c = 0; c < headSize; c++) dot += at(q, b, i, h, c) * at(k, b, j, h, c);
            return dot * scale;
          });
          const max = Math.max(...scores);
          const exps = scores.map((s) => Math.exp(s - max));
          const sum = exps.reduce((a, e) => a + e, 0);
          for (let j = 0; j < tokens; j++) {
            const p = (exps[j] as number) / sum;
            probs[((b * heads + h) * tokens + i) * tokens + j] = p;
            for (let c = 0; c < headSize; c++) {
              out[(b * tokens + i) * width + h * headSize + c]! += p * at(v, b, j, h, c);
            }
          }
        }
      }
    }
    return { out, probs };
  }

  // Odd sizes: 3 images, 6 tokens, 2 heads of 5.
  const dims = [3, 6, 2, 5] as const;
  const [batch, tokens, heads, headSize] = dims;
  const size = batch * tokens * heads * headSize;
  const scale = 1 / Math.sqrt(headSize);
  const q = spread(81, size, 3);
  const k = spread(82, size, 3);
  const v = spread(83, size, 2);

  function run(): { out: Float32Array; probs: Float32Array } {
    const out = new Float32Array(size);
    const probs = new Float32Array(batch * heads * tokens * tokens);
    addon.attention(q, k, v, batch, tokens, heads, headSize, scale, out, probs);
    return { out, probs };
  }

  test('matches softmax(QKᵀ/√d)·V per batch and head in float64, with its probabilities', () => {
    const { out, probs } = run();
    const expected = attention64(q, k, v, dims, scale);
    expect(maxRelativeError(out, expected.out)).toBeLessThan(2e-6);
    expect(maxRelativeError(probs, expected.probs)).toBeLessThan(2e-6);
    expect(Math.max(...Array.from(out, Math.abs))).toBeGreaterThan(0.1);
  });

  test('the gradients match central differences of Σ dy · attention in float64', () => {
    const { probs } = run();
    const dy = spread(84, size, 2);
    const grads = [new Float32Array(size), new Float32Array(size), new Float32Array(size)] as const;
    addon.attentionBackward(dy, q, k, v, probs, batch, tokens, heads, headSize, scale, ...grads);
    const inputs = [q, k, v].map((x) => Float64Array.from(x)) as [
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const loss = (): number =>
      attention64(...inputs, dims, scale).out.reduce((s, o, i) => s + o * (dy[i] as number), 0);
    inputs.forEach((values, which) => {
      for (let index = 0; index < size; index += 7) {
        const numeric = centralDifference(values, index, 1e-6, loss);
        const analytic = (grads[which] as Float32Array)[index] as number;
        expect(Math.abs(analytic - numeric)).toBeLessThan(2e-5 * (1 + Math.abs(numeric)));
      }
      expect(Math.max(...Array.from(grads[which] as Float32Array, Math.abs))).toBeGreaterThan(0.05);
    });
  });

  test('every ISA agrees: with the float64 forward, and with the checked backward', () => {
    // Whole 16-float chunks of a head (16) and of tokens padded 20 → 32; a head of 24 (a chunk and
    // a tail) over 9 tokens (two tiles of four rows and one row left); a head of 5 (tails only).
    for (const shape of [[2, 20, 2, 16], [2, 9, 3, 24], dims] as const) {
      const [b, t, h, d] = shape;
      const n = b * t * h * d;
      const [sq, sk, sv, sdy] = [95, 96, 97, 98].map((seed) => spread(seed, n, 3)) as [
        Float32Array,
        Float32Array,
        Float32Array,
        Float32Array,
      ];
      const s = 1 / Math.sqrt(d);
      const expected = attention64(sq, sk, sv, shape, s);
      const backward = (isa?: IsaName) => {
        const probs = Float32Array.from(expected.probs);
        const grads = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
        addon.attentionBackward(sdy, sq, sk, sv, probs, b, t, h, d, s, ...grads, isa);
        return grads;
      };
      const reference = backward();
      for (const isa of ['portable', 'avx2', 'avx512'] as const) {
        const out = new Float32Array(n);
        const probs = new Float32Array(b * h * t * t);
        addon.attention(sq, sk, sv, b, t, h, d, s, out, probs, isa);
        expect({ isa, out: maxRelativeError(out, expected.out) < 2e-6 }).toEqual({
          isa,
          out: true,
        });
        expect({ isa, probs: maxRelativeError(probs, expected.probs) < 2e-6 }).toEqual({
          isa,
          probs: true,
        });
        backward(isa).forEach((grad, which) => {
          const error = maxRelativeError(grad, reference[which] as Float32Array);
          expect({ isa, which, ok: error < 1e-5 }).toEqual({ isa, which, ok: true });
        });
      }
    }
  });

  test('gives the same results on 1 and 2 threads for a batch large enough to split', () => {
    const big = [64, 17, 4, 16] as const;
    const n = big[0] * big[1] * big[2] * big[3];
    const [bq, bk, bv, bdy] = [91, 92, 93, 94].map((seed) => spread(seed, n, 2));
    const threads = addon.getThreads();
    const results = [1, 2].map((count) => {
      addon.setThreads(count);
      const out = new Float32Array(n);
      const probs = new Float32Array(big[0] * big[2] * big[1] * big[1]);
      addon.attention(bq!, bk!, bv!, ...big, 0.25, out, probs);
      const grads = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      addon.attentionBackward(
        bdy!,
        bq!,
        bk!,
        bv!,
        probs,
        ...big,
        0.25,
        grads[0]!,
        grads[1]!,
        grads[2]!,
      );
      return [out, probs, ...grads];
    });
    addon.setThreads(threads);
    expect(results[1]).toEqual(results[0]);
  });

  test('bad arguments throw naming them', () => {
    const out = new Float32Array(size);
    const probs = new Float32Array(batch * heads * tokens * tokens);
    expectNativeError(
      () => addon.attention(q.subarray(1), k, v, batch, tokens, heads, headSize, scale, out, probs),
      'RangeError',
      /q\.length to be batch · tokens · heads · headSize = 180 but received 179/,
    );
    expectNativeError(
      () => addon.attention(q, k, v, batch, tokens, heads, headSize, scale, out, probs.subarray(1)),
      'RangeError',
      /probs\.length to be batch · heads · tokens² = 216 but received 215/,
    );
    expectNativeError(
      () => addon.attention(q, k, v, batch, tokens, heads, headSize, NaN, out, probs),
      'RangeError',
      /finite number for scale/,
    );
    expectNativeError(
      () => addon.attention(q, k, v, batch, 0, heads, headSize, scale, out, probs),
      'RangeError',
      /tokens/,
    );
    expectNativeError(
      () => addon.attention(q, k, v, batch, tokens, heads, headSize, scale, q, probs),
      'RangeError',
      /out.*overlap q|not to overlap q/,
    );
    const grads = [new Float32Array(size), new Float32Array(size)];
    expectNativeError(
      () =>
        addon.attentionBackward(
          out,
          q,
          k,
          v,
          probs,
          batch,
          tokens,
          heads,
          headSize,
          scale,
          grads[0]!,
          grads[0]!,
          grads[1]!,
        ),
      'RangeError',
      /overlap/,
    );
  });
});
