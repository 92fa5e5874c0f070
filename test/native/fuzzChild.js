'use strict';
/**
 * The N-API boundary fuzzer, run by fuzz.test.ts in a child process so that a crash is a reported
 * failure (with the seed and the call) rather than a dead jest worker.
 *
 * Usage: node --expose-gc fuzzChild.js <addon.node> <seed> <calls> <descriptors.json>
 *
 * Every call goes to one of the addon's exports or a NativePlan method with arguments that are
 * valid, or valid with one to three of them replaced by something wrong: another type, another
 * length, NaN / ±Infinity / huge numbers, a detached, shared, resizable or offset buffer, a Proxy,
 * an object or array whose getter throws or detaches or shrinks a buffer passed earlier in the same
 * call. The contract (DESIGN.md "Native boundary"): every call returns or throws TypeError /
 * RangeError (or Error 'plan disposed' on a disposed plan), and async calls settle the same way.
 *
 * Before each call one line `@<index> <call>` goes to stdout, so the parent can name the call that
 * killed the process; the last line is `RESULT <json>`.
 */
const fs = require('fs');
const path = require('path');
const { UNARY_OP_NAMES } = require(
  path.join(__dirname, '..', '..', 'dist', 'native', 'addonTypes'),
);

const [addonPath, seedText, callsText, descriptorsPath] = process.argv.slice(2);
const addon = require(addonPath);
const seed = Number(seedText);
const totalCalls = Number(callsText);
const gc = typeof global.gc === 'function' ? global.gc : () => {};

// ---------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32): the same seed gives the same calls.
let state = seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (low, high) => low + Math.floor(random() * (high - low + 1));
const pick = (values) => values[Math.floor(random() * values.length)];
const chance = (p) => random() < p;

// ---------------------------------------------------------------------------------------------
// Values.
function f32(length) {
  const array = new Float32Array(length);
  for (let i = 0; i < length; i++) array[i] = 2 * random() - 1;
  return array;
}
function mask(length) {
  return Uint8Array.from({ length }, () => int(0, 1));
}
function permutation(length) {
  const perm = Int32Array.from({ length }, (_, i) => i);
  for (let i = length - 1; i > 0; i--) {
    const j = int(0, i);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}
/** Node 20 has no ArrayBuffer.prototype.detached; a detached buffer refuses new views. */
function isDetached(buffer) {
  if (buffer.byteLength > 0 || buffer instanceof SharedArrayBuffer) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}
function detach(array) {
  structuredClone(array.buffer, { transfer: [array.buffer] });
  return array;
}
function detachedF32(length) {
  return detach(new Float32Array(length));
}
/** A length-tracking Float32Array on a resizable buffer: shrinking the buffer shrinks it. */
function resizableF32(length) {
  const buffer = new ArrayBuffer(length * 4, { maxByteLength: length * 4 + 64 });
  const array = new Float32Array(buffer);
  array.set(f32(length));
  return array;
}
function sentinelError() {
  const error = new Error('fuzz sentinel');
  error.name = 'FuzzSentinel';
  return error;
}

/** Something of the wrong kind for almost any argument. */
function weird() {
  switch (int(0, 37)) {
    case 0:
      return undefined;
    case 1:
      return null;
    case 2:
      return NaN;
    case 3:
      return Infinity;
    case 4:
      return -Infinity;
    case 5:
      return -1;
    case 6:
      return 0;
    case 7:
      return -0;
    case 8:
      return 0.5;
    case 9:
      return 2 ** 31;
    case 10:
      return 2 ** 32 + 1;
    case 11:
      return 2 ** 53;
    case 12:
      return 2 ** 64;
    case 13:
      return 1e308;
    case 14:
      return -(2 ** 31);
    case 15:
      return '3';
    case 16:
      return pick(['avx2', 'portable', 'avx512', 'sse', '']);
    case 17:
      return true;
    case 18:
      return {};
    case 19:
      return [];
    case 20:
      return [1, 2, 3];
    case 21:
      return 10n;
    case 22:
      return Symbol('fuzz');
    case 23:
      return () => 1;
    case 24:
      return new Float64Array(int(0, 8));
    case 25:
      return new Int32Array(int(0, 8));
    case 26:
      return new Uint8Array(int(0, 32));
    case 27:
      return new Float32Array(0);
    case 28:
      return detachedF32(int(0, 16));
    case 29:
      return new DataView(new ArrayBuffer(16));
    case 30:
      return new Float32Array(new SharedArrayBuffer(4 * int(1, 16)));
    case 31:
      return new Float32Array(new ArrayBuffer(64), 4 * int(0, 8), int(0, 8));
    case 32:
      return new Proxy(
        {},
        {
          get() {
            throw sentinelError();
          },
        },
      );
    case 33:
      return Object.defineProperty({}, 'constructor', {
        get() {
          throw sentinelError();
        },
      });
    case 34:
      return Object.create(null);
    case 35:
      return f32(int(1, 4096));
    case 36:
      return new Float32Array(new ArrayBuffer(0, { maxByteLength: 64 }));
    default:
      return new Proxy([1, 2], {});
  }
}

/** A number near `value`: off by one, doubled, negative, fractional, NaN, huge. */
function nearNumber(value) {
  switch (int(0, 9)) {
    case 0:
      return value + 1;
    case 1:
      return value - 1;
    case 2:
      return value * 2;
    case 3:
      return -value;
    case 4:
      return value + 0.5;
    case 5:
      return NaN;
    case 6:
      return pick([Infinity, -Infinity]);
    case 7:
      return pick([2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 62, 2 ** 63]);
    case 8:
      return 0;
    default:
      return weird();
  }
}

/** A typed array like `array` but wrong: another length, type, or a dead or odd buffer. */
function nearArray(array) {
  if (isDetached(array.buffer)) return weird();
  const Type = array.constructor;
  const length = array.length;
  switch (int(0, 8)) {
    case 0:
      return new Type(length + 1);
    case 1:
      return new Type(Math.max(0, length - 1));
    case 2:
      return detach(new Type(length));
    case 3:
      return Type === Float32Array ? new Float64Array(length) : new Float32Array(length);
    case 4:
      return new Type(new SharedArrayBuffer(Math.max(1, length) * Type.BYTES_PER_ELEMENT));
    case 5:
      return Array.from(array);
    case 6:
      return new Type(length * 3).subarray(length, 2 * length);
    case 7: {
      const buffer = new ArrayBuffer(length * Type.BYTES_PER_ELEMENT, {
        maxByteLength: length * Type.BYTES_PER_ELEMENT + 32,
      });
      const copy = new Type(buffer);
      copy.set(array);
      return copy;
    }
    default:
      return weird();
  }
}

/** Replaces an argument by something near it or by something else entirely. */
function mutate(value) {
  if (chance(0.3)) return weird();
  if (typeof value === 'number') return nearNumber(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return nearArray(value);
  if (Array.isArray(value)) {
    if (value.length > 0 && chance(0.5)) {
      const copy = value.slice();
      const at = int(0, copy.length - 1);
      copy[at] = mutate(copy[at]);
      return copy;
    }
    return chance(0.5)
      ? value.slice(0, Math.max(0, value.length - 1))
      : [...value, pick([1, 2, 7])];
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    const copy = { ...value };
    if (keys.length > 0 && chance(0.8)) {
      const key = pick(keys);
      copy[key] = chance(0.2) ? undefined : mutate(value[key]);
    } else {
      copy[pick(['extra', 'm', 'bias'])] = weird();
    }
    return copy;
  }
  return weird();
}

/**
 * Hostile re-entry: a getter (on an options object or on an element of an array argument) that
 * detaches, or shrinks, the first typed array among the earlier arguments after the addon checked
 * it, runs the GC so that the memory is really gone, and then returns the right value.
 */
function withHostileGetter(args) {
  const arrays = args.filter((arg) => ArrayBuffer.isView(arg) && arg.buffer.byteLength > 0);
  const holders = args
    .map((arg, index) => ({ arg, index }))
    .filter(({ arg }) => arg && typeof arg === 'object' && !ArrayBuffer.isView(arg));
  if (arrays.length === 0 || holders.length === 0) return false;
  const victim = pick(arrays);
  const { arg: holder, index } = holders[holders.length - 1];
  const keys = Object.keys(holder);
  if (keys.length === 0) return false;
  const key = pick(keys);
  const replacement = Array.isArray(holder) ? holder.slice() : { ...holder };
  const value = holder[key];
  const shrink = victim.buffer.resizable && chance(0.5);
  Object.defineProperty(replacement, key, {
    enumerable: true,
    get() {
      if (shrink) victim.buffer.resize(0);
      else if (!isDetached(victim.buffer)) detach(victim);
      gc();
      return value;
    },
  });
  args[index] = replacement;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Valid calls, one generator per export.
const isas = ['portable', 'avx2', 'avx512'];
const optionalIsa = () => (chance(0.5) ? [pick(isas)] : []);
const budget = { measure: 4, peak: 2 };
const HOPELESS = Symbol('hopeless');
/** Arguments of which at least one is wrong for any size or thread count, passed unmutated. */
function hopeless(count) {
  const wrong = () =>
    pick([
      NaN,
      -1,
      0,
      0.5,
      2 ** 60,
      Infinity,
      -Infinity,
      '4096',
      null,
      undefined,
      {},
      10n,
      detachedF32(4),
    ]);
  const args = Array.from({ length: count }, () => (chance(0.5) ? wrong() : 1));
  args[int(0, count - 1)] = wrong();
  return fixed(args);
}
/** Arguments that argumentsFor passes as they are (a mutation could make them valid and slow). */
function fixed(args) {
  args[HOPELESS] = true;
  return args;
}

function fastfoodTables(size) {
  const signs = Float32Array.from({ length: size }, () => (chance(0.5) ? 1 : -1));
  return [signs, permutation(size), f32(size)];
}

/** A rank-r product's shape and a range of its flat output that starts on a row. */
function lowRankShape() {
  const cols = int(1, 9);
  const rank = int(1, 4);
  const rows = int(1, 6);
  const begin = cols * int(0, rows - 1);
  return { cols, rank, rows, begin, end: int(begin, rows * cols) };
}

/** A matrix and room for its Gram spectrum. */
function gramSpectrumArgs() {
  const rows = int(1, 9);
  const cols = int(1, 9);
  const side = Math.min(rows, cols);
  return [f32(rows * cols), rows, cols, new Float64Array(side), new Float64Array(side * side)];
}

/**
 * A small valid geometry for the convolution and pooling exports (15 values: batch, inH, inW,
 * inC, outH, outW, outC, fh, fw, strideH, strideW, dilationH, dilationW, padTop, padLeft), with
 * the lengths of its arrays. kind: 'conv', 'depthwise' (outC a multiple of inC, filter
 * [fh, fw, outC]) or 'pooling' (outC = inC, no dilation).
 */
function convGeometry(kind) {
  const [batch, inH, inW, inC] = [int(0, 2), int(1, 6), int(1, 6), int(1, 3)];
  const [fh, fw, strideH, strideW] = [int(1, 3), int(1, 3), int(1, 2), int(1, 2)];
  const [dilationH, dilationW] = kind === 'pooling' ? [1, 1] : [int(1, 2), int(1, 2)];
  const [padTop, padLeft] = [int(0, 1), int(0, 1)];
  const out = (size, filter, stride, dilation, pad) =>
    Math.max(0, Math.floor((size + 2 * pad - (filter - 1) * dilation - 1) / stride) + 1);
  const outH = out(inH, fh, strideH, dilationH, padTop);
  const outW = out(inW, fw, strideW, dilationW, padLeft);
  const outC = { conv: int(1, 3), depthwise: inC * int(1, 2), pooling: inC }[kind];
  const geometry = [batch, inH, inW, inC, outH, outW, outC, fh, fw, strideH, strideW];
  return {
    array: Float64Array.from([...geometry, dilationH, dilationW, padTop, padLeft]),
    outChannels: outC,
    inputSize: batch * inH * inW * inC,
    outputSize: batch * outH * outW * outC,
    filterSize: kind === 'depthwise' ? fh * fw * outC : fh * fw * inC * outC,
  };
}

const exportsFuzzed = {
  version: () => [],
  capabilities: () => [],
  getThreads: () => [],
  setThreads: () => [int(1, 3)],
  tuneAllocator: () => [int(0, 32) << 20, int(0, 512) << 20],
  fwht: () => {
    const size = 2 ** int(0, 7);
    return [f32(size * int(1, 3)), size, ...optionalIsa()];
  },
  cudaFwht: () => {
    const size = 2 ** int(0, 5);
    return [f32(size), size];
  },
  fastfoodForward: () => {
    const size = 2 ** int(0, 6);
    const n = int(Math.floor(size / 2) + 1, size);
    const m = int(1, n);
    return [...fastfoodTables(size), f32(m), m, n, 2 * random(), f32(n), ...optionalIsa()];
  },
  fastfoodBackward: () => {
    const size = 2 ** int(0, 6);
    const n = int(Math.floor(size / 2) + 1, size);
    const m = int(1, n);
    return [...fastfoodTables(size), f32(n), n, m, 2 * random(), f32(m), ...optionalIsa()];
  },
  // The measurements take a fifth of a second each: a few valid ones, then only wrong ones that
  // no mutation can turn valid (see argumentsFor).
  measureFill: () => (budget.measure-- > 0 ? fixed([4096, 1]) : hopeless(2)),
  measureMemcpy: () => (budget.measure-- > 0 ? fixed([4096, 1]) : hopeless(2)),
  measureFmaPeak: () => (budget.peak-- > 0 ? fixed([1]) : hopeless(1)),
  measureAddPeak: () => (budget.peak-- > 0 ? fixed([1]) : hopeless(1)),
  gemm: () => {
    const m = int(0, 9);
    const n = int(0, 9);
    const k = int(0, 9);
    const batch = int(1, 3);
    const options = { m, n, k, batch, transposeA: chance(0.5), transposeB: chance(0.5) };
    if (chance(0.5)) {
      options.bias = f32(n);
      options.activation = pick(['linear', 'relu']);
    }
    if (chance(0.3)) options.isa = pick(isas);
    return [f32(batch * m * k), f32(batch * k * n), f32(batch * m * n), options];
  },
  unaryOp: () => {
    const x = chance(0.3) ? resizableF32(int(0, 40)) : f32(int(0, 40));
    const out = new Float32Array(x.length);
    return [pick(UNARY_OP_NAMES), x, out, ...optionalIsa()];
  },
  binaryOp: () => {
    const shape = [int(1, 4), int(1, 4)];
    const bShape = chance(0.5) ? shape.slice() : [1, shape[1]];
    const ops = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'squaredDifference', 'pow'];
    const size = (s) => s.reduce((a, b) => a * b, 1);
    return [
      pick(ops),
      f32(size(shape)),
      shape,
      f32(size(bShape)),
      bShape,
      f32(size(shape)),
      ...optionalIsa(),
    ];
  },
  reduceOp: () => {
    const outer = int(0, 4);
    const size = int(1, 5);
    const inner = int(0, 4);
    return [
      pick(['sum', 'mean', 'max', 'min']),
      f32(outer * size * inner),
      f32(outer * inner),
      outer,
      size,
      inner,
      ...optionalIsa(),
    ];
  },
  transpose: () => {
    const shape = [int(1, 4), int(1, 4), int(1, 3)];
    const total = shape[0] * shape[1] * shape[2];
    return [f32(total), f32(total), shape, Array.from(permutation(3))];
  },
  softmax: () => {
    const rows = int(0, 4);
    const cols = int(1, 6);
    return [f32(rows * cols), f32(rows * cols), rows, cols, ...optionalIsa()];
  },
  copyBox: () => {
    const srcShape = [int(1, 5), int(1, 5)];
    const dstShape = [int(1, 5), int(1, 5)];
    const size = [
      int(0, Math.min(srcShape[0], dstShape[0])),
      int(0, Math.min(srcShape[1], dstShape[1])),
    ];
    const srcBegin = [int(0, srcShape[0] - size[0]), int(0, srcShape[1] - size[1])];
    const dstBegin = [int(0, dstShape[0] - size[0]), int(0, dstShape[1] - size[1])];
    return [
      f32(srcShape[0] * srcShape[1]),
      srcShape,
      srcBegin,
      f32(dstShape[0] * dstShape[1]),
      dstShape,
      dstBegin,
      size,
    ];
  },
  conv2d: () => {
    const g = convGeometry('conv');
    return [
      f32(g.inputSize),
      f32(g.filterSize),
      chance(0.5) ? f32(g.outChannels) : null,
      f32(g.outputSize),
      g.array,
      int(0, 1),
    ];
  },
  conv2dBackpropInput: () => {
    const g = convGeometry('conv');
    return [f32(g.outputSize), f32(g.filterSize), f32(g.inputSize), g.array];
  },
  conv2dBackpropFilter: () => {
    const g = convGeometry('conv');
    return [f32(g.inputSize), f32(g.outputSize), f32(g.filterSize), g.array];
  },
  depthwiseConv2d: () => {
    const g = convGeometry('depthwise');
    return [
      f32(g.inputSize),
      f32(g.filterSize),
      chance(0.5) ? f32(g.outChannels) : null,
      f32(g.outputSize),
      g.array,
      int(0, 1),
    ];
  },
  depthwiseConv2dBackpropInput: () => {
    const g = convGeometry('depthwise');
    return [f32(g.outputSize), f32(g.filterSize), f32(g.inputSize), g.array];
  },
  depthwiseConv2dBackpropFilter: () => {
    const g = convGeometry('depthwise');
    return [f32(g.inputSize), f32(g.outputSize), f32(g.filterSize), g.array];
  },
  avgPool: () => {
    const g = convGeometry('pooling');
    return [f32(g.inputSize), f32(g.outputSize), g.array];
  },
  avgPoolBackward: () => {
    const g = convGeometry('pooling');
    return [f32(g.outputSize), f32(g.inputSize), g.array];
  },
  maxPool: () => {
    const g = convGeometry('pooling');
    return [f32(g.inputSize), f32(g.outputSize), g.array];
  },
  maxPoolBackward: () => {
    const g = convGeometry('pooling');
    return [f32(g.outputSize), f32(g.inputSize), f32(g.inputSize), g.array];
  },
  compare: () => {
    const length = int(0, 12);
    const operand = () => f32(chance(0.3) ? 1 : length);
    const ops = ['greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'];
    return [pick(ops), operand(), operand(), new Uint8Array(length)];
  },
  logicalAnd: () => {
    const length = int(0, 12);
    const operand = () => mask(chance(0.3) ? 1 : length);
    return [operand(), operand(), new Uint8Array(length)];
  },
  select: () => {
    const length = int(0, 12);
    return [mask(length), f32(length), f32(length), new Float32Array(length)];
  },
  clipByValue: () => {
    const x = f32(int(0, 12));
    const min = 2 * random() - 1;
    return [x, min, min + random(), new Float32Array(x.length)];
  },
  batchNorm: () => {
    const channels = int(1, 5);
    const x = f32(channels * int(0, 4));
    const param = () => f32(chance(0.3) ? 1 : channels);
    const optional = () => (chance(0.3) ? null : param());
    const variance = param().map(Math.abs);
    return [
      x,
      channels,
      param(),
      variance,
      optional(),
      optional(),
      random(),
      new Float32Array(x.length),
    ];
  },
  symmetricEigen: () => {
    const n = int(1, 12);
    // Only the lower triangle is read: the matrix need not be symmetric; sometimes near the
    // double range, which the native side scales down before squaring.
    const scale = chance(0.1) ? 1e300 : 1;
    return [Float64Array.from(f32(n * n), (value) => value * scale), n];
  },
  gramSpectrum: () => gramSpectrumArgs(),
  gramSpectrumAsync: () => gramSpectrumArgs(),
  gramMatrix: () => {
    const rows = int(1, 9);
    const cols = int(1, 9);
    return [f32(rows * cols), rows, cols, chance(0.5)];
  },
  nativeDraws: () => [int(0, 2 ** 32 - 1), int(1, 4), int(0, 16)],
  nativeTables: () => [int(0, 1000), 2 ** int(0, 8)],
  nativePermutation: () => [int(0, 1000), pick([2, 4]), int(1, 64)],
  lowRankForward: () => {
    const { cols, rank, rows, begin, end } = lowRankShape();
    return [
      f32(rows * rank),
      f32(rank * cols),
      cols,
      rank,
      2 * random() - 1,
      begin,
      end,
      f32(end - begin),
      ...optionalIsa(),
    ];
  },
  lowRankBackward: () => {
    const { cols, rank, rows, begin, end } = lowRankShape();
    return [
      f32(rows * rank),
      f32(rank * cols),
      f32(end - begin),
      cols,
      rank,
      2 * random() - 1,
      begin,
      end,
      f32(rows * rank),
      f32(rank * cols),
      ...optionalIsa(),
    ];
  },
  kronForward: () => {
    const splits = int(1, 3);
    const order = int(1, 3);
    const dims = Array.from({ length: splits * order }, () => int(1, 3));
    const tensors = Array.from({ length: splits }, (_, k) =>
      f32(dims.slice(k * order, (k + 1) * order).reduce((a, b) => a * b, 1)),
    );
    const total = dims.reduce((a, b) => a * b, 1);
    const begin = int(0, total);
    const end = int(begin, total);
    return [tensors, dims, order, 2 * random() - 1, begin, end, f32(end - begin), ...optionalIsa()];
  },
  kronBackward: () => {
    const [tensors, dims, order, scale, begin, end] = exportsFuzzed.kronForward();
    const grads = tensors.map((tensor) => new Float32Array(tensor.length));
    return [tensors, dims, order, f32(end - begin), scale, begin, end, grads, ...optionalIsa()];
  },
};

/** Errors a function may throw besides TypeError / RangeError (documented in addonTypes.ts). */
const otherAllowedErrors = {
  cudaFwht: /./, // no CUDA in this binary or no device: a plain Error with CUDA's reason
};

// ---------------------------------------------------------------------------------------------
// Plans: valid descriptors from the parent, each compiled into a pool of live plans with its
// reference output; disposed plans are kept to be called too.
function revive(value) {
  if (value && typeof value === 'object' && typeof value.$typed === 'string') {
    return new globalThis[value.$typed](value.values);
  }
  if (value && typeof value === 'object') {
    const result = {};
    for (const [key, field] of Object.entries(value)) result[key] = revive(field);
    return result;
  }
  return value;
}
const descriptors = JSON.parse(fs.readFileSync(descriptorsPath, 'utf8')).map(revive);
function cloneDescriptor(descriptor) {
  const copy = {};
  for (const [key, value] of Object.entries(descriptor)) {
    copy[key] = ArrayBuffer.isView(value) ? value.slice() : value;
  }
  return copy;
}
const references = descriptors.map((descriptor) => {
  const plan = new addon.NativePlan(cloneDescriptor(descriptor));
  const params = f32(plan.numParams);
  const out = new Float32Array(plan.deltaSize);
  plan.forward(params, out);
  plan.dispose();
  return { descriptor, params, out };
});
const livePlans = references.map(
  ({ descriptor }) => new addon.NativePlan(cloneDescriptor(descriptor)),
);
const disposedPlans = [];

/** The descriptor mutated in one place: a field, an entry, a length, or the whole thing. */
function mutateDescriptor(descriptor) {
  const copy = cloneDescriptor(descriptor);
  const keys = Object.keys(copy);
  const key = pick(keys);
  const value = copy[key];
  switch (int(0, 4)) {
    case 0:
      copy[key] = weird();
      break;
    case 1:
      if (ArrayBuffer.isView(value) && value.length > 0) {
        value[int(0, value.length - 1)] = pick([
          -1,
          0,
          1,
          2,
          3,
          2 ** 31 - 1,
          2 ** 40,
          NaN,
          -(2 ** 31),
          value[0] + 1,
        ]);
      } else copy[key] = nearNumber(typeof value === 'number' ? value : 0);
      break;
    case 2:
      copy[key] =
        ArrayBuffer.isView(value) && !(value instanceof DataView)
          ? nearArray(value)
          : nearNumber(Number(value) || 1);
      break;
    case 3:
      delete copy[key];
      break;
    default:
      Object.defineProperty(copy, key, {
        get() {
          throw sentinelError();
        },
      });
  }
  return copy;
}

function livePlan() {
  const index = int(0, livePlans.length - 1);
  return { plan: livePlans[index], index };
}
function planArgs(plan, method) {
  const params = f32(plan.numParams);
  switch (method) {
    case 'forward':
    case 'forwardAsync':
      return [params, new Float32Array(plan.deltaSize)];
    case 'backward':
    case 'backwardAsync':
      return [params, f32(plan.deltaSize), new Float32Array(plan.numParams)];
    case 'fastfoodTable': {
      const sizes = plan.disposed ? [] : plan.info().fastfoodSizes;
      return [sizes.length > 0 ? pick(sizes) : 2 ** int(0, 10)];
    }
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Running calls and judging what they did.
const counts = { calls: 0, returned: 0, async: 0 };
const thrown = {};
const violations = [];

function describe(value) {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 20));
  if (typeof value === 'symbol') return 'Symbol';
  if (typeof value === 'function') return 'function';
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    const notes = [];
    if (isDetached(buffer)) notes.push('detached');
    if (buffer instanceof SharedArrayBuffer) notes.push('shared');
    if (buffer.resizable) notes.push('resizable');
    if (value.byteOffset) notes.push(`offset ${value.byteOffset}`);
    const length = isDetached(buffer) ? '?' : (value.length ?? value.byteLength);
    return `${value.constructor.name}(${length}${notes.length ? ' ' + notes.join(' ') : ''})`;
  }
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describe).join(', ')}]`;
  try {
    return `{${Object.keys(value).slice(0, 12).join(',')}}`;
  } catch {
    return 'object';
  }
}

function allowed(error, name) {
  if (error === null || typeof error !== 'object') return false;
  if (error.name === 'TypeError' || error.name === 'RangeError') return true;
  if (error.name === 'FuzzSentinel') return true; // our own getter's error, passed through
  if (error.name === 'Error' && error.message === 'plan disposed') return true;
  if (error.name === 'Error' && name === 'plan.shuffleTable')
    return /no shuffle/.test(error.message);
  const other = otherAllowedErrors[name];
  return error.name === 'Error' && other !== undefined && other.test(error.message);
}

function judge(name, callText, error, index) {
  const key = error && typeof error === 'object' ? error.name : typeof error;
  thrown[key] = (thrown[key] ?? 0) + 1;
  if (!allowed(error, name)) {
    violations.push({
      index,
      call: callText,
      error: error && typeof error === 'object' ? `${error.name}: ${error.message}` : String(error),
    });
  } else if (typeof error.message !== 'string' || error.message.length === 0) {
    violations.push({ index, call: callText, error: `${error.name} without a message` });
  }
}

let pending = [];
function call(index, name, target, fn, args, construct = false) {
  const callText = `${name}(${args.map(describe).join(', ')})`;
  fs.writeSync(1, `@${index} ${callText}\n`);
  counts.calls++;
  let result;
  try {
    result = construct ? new fn(...args) : fn.apply(target, args);
  } catch (error) {
    judge(name, callText, error, index);
    return undefined;
  }
  counts.returned++;
  if (result && typeof result.then === 'function') {
    counts.async++;
    pending.push(
      result.then(
        () => {},
        (error) => judge(name, callText, error, index),
      ),
    );
  }
  return result;
}

async function settle() {
  const waiting = pending;
  pending = [];
  await Promise.all(waiting);
}

const exportNames = Object.keys(exportsFuzzed);
const planMethods = [
  'forward',
  'backward',
  'forwardAsync',
  'backwardAsync',
  'info',
  'fastfoodTable',
  'shuffleTable',
  'dispose',
];

function argumentsFor(valid) {
  if (valid[HOPELESS]) return valid;
  const args = valid.slice();
  if (chance(0.2)) return args; // a valid call
  // The roll happens either way, so that FUZZ_NO_HOSTILE (fuzz.test.ts) keeps the other calls.
  if (chance(0.15) && !process.env.FUZZ_NO_HOSTILE && withHostileGetter(args)) return args;
  const mutations = int(1, 3);
  for (let i = 0; i < mutations; i++) {
    const roll = random();
    if (roll < 0.08 && args.length > 0)
      args.length = int(0, args.length - 1); // too few
    else if (roll < 0.14)
      args.push(weird()); // too many
    else if (args.length > 0) {
      const at = int(0, args.length - 1);
      args[at] = mutate(args[at]);
    }
  }
  return args;
}

/**
 * The test hooks that generate tables accept lengths up to 2^31 − 1: valid, but gigabytes and
 * minutes. A mutation that lands on such a length is moved just past the limit (a RangeError).
 */
const HUGE_BUT_VALID = { nativeDraws: 2, nativeTables: 1, nativePermutation: 2 };
function withoutHugeTables(name, args) {
  const at = HUGE_BUT_VALID[name];
  if (
    at !== undefined &&
    typeof args[at] === 'number' &&
    args[at] > 2 ** 20 &&
    args[at] < 2 ** 31
  ) {
    args[at] = 2 ** 31;
  }
  return args;
}

async function main() {
  for (let index = 0; index < totalCalls; index++) {
    const roll = random();
    if (roll < 0.45) {
      const name = pick(exportNames);
      const args = withoutHugeTables(name, argumentsFor(exportsFuzzed[name]()));
      call(index, name, addon, addon[name], args);
    } else if (roll < 0.55) {
      // The constructor: a mutated descriptor, something else, or no `new`.
      const base = pick(descriptors);
      const descriptor = chance(0.1) ? weird() : mutateDescriptor(base);
      if (chance(0.05)) {
        call(index, 'NativePlan (no new)', undefined, addon.NativePlan, [descriptor]);
        continue;
      }
      const plan = call(index, 'new NativePlan', undefined, addon.NativePlan, [descriptor], true);
      if (plan !== undefined) {
        // A mutation the checks accept must still be a plan that runs.
        if (plan.numParams < 1e6 && plan.deltaSize < 1e6) {
          call(index, 'plan.forward', plan, plan.forward, planArgs(plan, 'forward'));
        }
        plan.dispose();
      }
    } else if (roll < 0.97) {
      const disposed = disposedPlans.length > 0 && chance(0.15);
      const { plan, index: at } = disposed ? { plan: pick(disposedPlans) } : livePlan();
      const method = pick(planMethods);
      if (method === 'dispose') {
        if (!disposed && chance(0.3)) {
          // Dispose with async calls possibly in flight, then replace the plan in the pool.
          call(index, 'plan.dispose', plan, plan.dispose, []);
          disposedPlans.push(plan);
          livePlans[at] = new addon.NativePlan(cloneDescriptor(descriptors[at]));
        }
        continue;
      }
      const valid = planArgs(plan, method);
      const args = chance(0.5) ? valid : argumentsFor(valid);
      call(index, `plan.${method}`, plan, plan[method], args);
    } else {
      // A burst of concurrent async calls on one plan, sometimes disposed halfway.
      const { plan, index: at } = livePlan();
      const burst = int(2, 12);
      for (let i = 0; i < burst; i++) {
        const method = pick(['forwardAsync', 'backwardAsync']);
        call(index, `plan.${method} (burst)`, plan, plan[method], planArgs(plan, method));
      }
      if (chance(0.3)) {
        call(index, 'plan.dispose (burst)', plan, plan.dispose, []);
        disposedPlans.push(plan);
        livePlans[at] = new addon.NativePlan(cloneDescriptor(descriptors[at]));
      }
      await settle();
    }
    if (index % 64 === 63) await settle();
  }
  await settle();

  // The fuzzing must not have damaged the addon: every plan still computes its reference.
  const damaged = [];
  references.forEach(({ descriptor, params, out }, index) => {
    const plan = new addon.NativePlan(cloneDescriptor(descriptor));
    const again = new Float32Array(plan.deltaSize);
    plan.forward(params, again);
    plan.dispose();
    for (let i = 0; i < out.length; i++) {
      if (Math.abs(again[i] - out[i]) > 1e-5 * (1 + Math.abs(out[i]))) {
        damaged.push(`descriptor ${index}: entry ${i} is ${again[i]}, was ${out[i]}`);
        break;
      }
    }
  });
  livePlans.forEach((plan) => plan.dispose());
  const result = {
    seed,
    counts,
    thrown,
    violations: violations.slice(0, 20),
    violationCount: violations.length,
    damaged,
  };
  fs.writeSync(1, `RESULT ${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  fs.writeSync(1, `FATAL ${error && error.stack ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
