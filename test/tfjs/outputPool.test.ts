/**
 * Recycling the native kernels' output arrays (src/tfjs/kernels/outputPool.ts): a disposed output
 * is reused by the next output of its length (as it was, or zero-filled on request); an array
 * anything else has read (dataSync, a stock kernel's view) is never reused; shared references keep
 * it; the limit holds; training is bit-identical with recycling on and off.
 */
import * as tf from '@tensorflow/tfjs';
import type { CpuBackend } from '../../src/tfjs/kernels/cpuBackend';
import {
  clearOutputPool,
  outputArray,
  outputPoolStats,
  outputTensor,
  poisonOutputArrays,
  zeroedOutputArray,
} from '../../src/tfjs/kernels/outputPool';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/tfjs/kernels/register';
import { randomizedViT, randomPixels } from '../vit/tinyVit';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

beforeEach(() => {
  unregisterNativeKernels();
  expect(registerNativeKernels({ env: {} })).toBe(true);
});

afterAll(() => {
  unregisterNativeKernels();
});

/** [0, 1, …, n−1] + `offset`, as a float32 tensor of `shape`. */
function ramp(shape: number[], offset = 0): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, (_, i) => i + offset),
    shape,
  );
}

/** The backend's own array for a tensor (what dataSync() returns on the cpu backend). */
function backendArray(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

describe('the output pool', () => {
  test('a disposed output is reused by the next output of its length, and the result is right', () => {
    const a = ramp([3, 4]);
    const b = ramp([3, 4], 100);
    const first = tf.add(a, b);
    first.dispose();
    const before = outputPoolStats();
    expect(before.pooledBytes).toBe(12 * 4);
    const second = tf.mul(a, b);
    const after = outputPoolStats();
    expect(after.reused).toBe(before.reused + 1);
    expect(after.pooledBytes).toBe(0);
    expect(Array.from(second.dataSync())).toEqual(
      Array.from({ length: 12 }, (_, i) => i * (i + 100)),
    );
    tf.dispose([a, b, second]);
  });

  test('outputArray hands a recycled array back as it was; zeroedOutputArray zero-fills it', () => {
    const backend = tf.backend() as unknown as CpuBackend;
    const array = outputArray(5);
    array.set([1, 2, 3, 4, 5]);
    tf.engine()
      .makeTensorFromTensorInfo(outputTensor(backend, [5], array))
      .dispose();
    const recycled = outputArray(5);
    expect(recycled).toBe(array);
    expect(Array.from(recycled)).toEqual([1, 2, 3, 4, 5]);
    tf.engine()
      .makeTensorFromTensorInfo(outputTensor(backend, [5], recycled))
      .dispose();
    const zeroed = zeroedOutputArray(5);
    expect(zeroed).toBe(array);
    expect(Array.from(zeroed)).toEqual([0, 0, 0, 0, 0]);
  });

  test('poisoned, every array handed out is NaN-filled, new or recycled', () => {
    poisonOutputArrays(true);
    try {
      expect(Array.from(outputArray(3))).toEqual([NaN, NaN, NaN]);
      expect(Array.from(zeroedOutputArray(3))).toEqual([0, 0, 0]);
    } finally {
      poisonOutputArrays(false);
    }
  });

  test('an array read by dataSync is never reused: the reader keeps its values', () => {
    const x = ramp([8]);
    const y = tf.neg(x);
    const seen = backendArray(y);
    y.dispose();
    const z = tf.square(x);
    expect(Array.from(seen)).toEqual(Array.from({ length: 8 }, (_, i) => -i));
    expect(z.dataSync()).not.toBe(seen);
    tf.dispose([x, z]);
  });

  test('counts a disposed output that escaped', () => {
    const x = ramp([6]);
    const y = tf.neg(x);
    y.dataSync();
    const before = outputPoolStats();
    y.dispose();
    const after = outputPoolStats();
    expect(after.escaped).toBe(before.escaped + 1);
    expect(after.pooledBytes).toBe(before.pooledBytes);
    x.dispose();
  });

  test('a stock kernel’s view of an output keeps its values after the output is disposed', () => {
    // tfjs's cpu slice returns a contiguous box as a subarray of its input's array.
    const x = ramp([4, 4]);
    const y = tf.neg(x);
    const rows = tf.slice(y, [1, 0], [2, 4]);
    y.dispose();
    const overwrite = tf.square(x);
    expect(Array.from(rows.dataSync())).toEqual(Array.from({ length: 8 }, (_, i) => -(i + 4)));
    tf.dispose([x, rows, overwrite]);
  });

  test('a reshape shares the output: it is reused only after both are disposed', () => {
    const x = ramp([2, 6]);
    const y = tf.neg(x);
    const reshaped = tf.reshape(y, [3, 4]);
    y.dispose();
    expect(outputPoolStats().pooledBytes).toBe(0);
    const other = tf.square(x);
    // Read through a native kernel: the reshape still holds -x.
    const doubled = tf.add(reshaped, reshaped);
    expect(Array.from(doubled.dataSync())).toEqual(Array.from({ length: 12 }, (_, i) => -2 * i));
    reshaped.dispose();
    expect(outputPoolStats().pooledBytes).toBe(12 * 4);
    tf.dispose([x, other, doubled]);
  });

  test('an output fed only to native kernels stays recyclable', () => {
    const x = ramp([16]);
    const y = tf.neg(x);
    const z = tf.exp(y);
    const before = outputPoolStats().pooledBytes;
    y.dispose();
    expect(outputPoolStats().pooledBytes).toBe(before + 16 * 4);
    tf.dispose([x, z]);
  });

  test('SUPERLORA_OUTPUT_POOL_MB bounds the free arrays; 0 recycles nothing; a bad value is named', () => {
    unregisterNativeKernels();
    expect(
      registerNativeKernels({ env: { SUPERLORA_OUTPUT_POOL_MB: String(100 / 2 ** 20) } }),
    ).toBe(true);
    expect(outputPoolStats().limitBytes).toBe(100);
    const x = ramp([10]);
    const outputs = [tf.neg(x), tf.neg(x), tf.neg(x), tf.neg(x)];
    tf.dispose(outputs);
    expect(outputPoolStats().pooledBytes).toBe(80); // two of 40 bytes fit, the others do not

    unregisterNativeKernels();
    expect(registerNativeKernels({ env: { SUPERLORA_OUTPUT_POOL_MB: '0' } })).toBe(true);
    tf.neg(x).dispose();
    tf.neg(x).dispose();
    expect(outputPoolStats()).toMatchObject({ reused: 0, pooledBytes: 0, limitBytes: 0 });
    x.dispose();

    unregisterNativeKernels();
    expect(() => registerNativeKernels({ env: { SUPERLORA_OUTPUT_POOL_MB: 'lots' } })).toThrow(
      'Expected a number of MiB ≥ 0 for SUPERLORA_OUTPUT_POOL_MB but received "lots"',
    );
  });

  test('clearOutputPool drops the free arrays and the counts', () => {
    const x = ramp([7]);
    tf.neg(x).dispose();
    expect(outputPoolStats().pooledBytes).toBeGreaterThan(0);
    clearOutputPool();
    expect(outputPoolStats()).toMatchObject({
      reused: 0,
      allocated: 0,
      escaped: 0,
      pooledBytes: 0,
    });
    x.dispose();
  });
});

describe('training with recycled outputs', () => {
  test('three SGD steps of a ViT give bit-identical weights with recycling on and off', () => {
    const train = (poolMegabytes: string): Map<string, Float32Array> => {
      unregisterNativeKernels();
      expect(registerNativeKernels({ env: { SUPERLORA_OUTPUT_POOL_MB: poolMegabytes } })).toBe(
        true,
      );
      const vit = randomizedViT(undefined, 11);
      const pixels = randomPixels(vit.config, 4, 12);
      const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), vit.config.numLabels);
      const variables = [...vit.weights.values()];
      for (let step = 0; step < 3; step++) {
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(labels, vit.forward(pixels)) as tf.Scalar,
          variables,
        );
        tf.tidy(() => {
          for (const variable of variables) {
            const grad = grads[variable.name] as tf.Tensor;
            variable.assign(tf.sub(variable, tf.mul(grad, 0.1)));
          }
        });
        tf.dispose([value, ...Object.values(grads)]);
      }
      const weights = new Map(
        [...vit.weights].map(([name, weight]) => [name, weight.dataSync().slice() as Float32Array]),
      );
      const reused = outputPoolStats().reused;
      tf.dispose([pixels, labels]);
      vit.dispose();
      if (poolMegabytes !== '0') expect(reused).toBeGreaterThan(100);
      return weights;
    };
    const recycled = train('256');
    const fresh = train('0');
    expect([...recycled.keys()]).toEqual([...fresh.keys()]);
    for (const [name, weight] of fresh) {
      expect({
        name,
        same: Buffer.compare(
          Buffer.from(weight.buffer),
          Buffer.from((recycled.get(name) as Float32Array).buffer),
        ),
      }).toEqual({ name, same: 0 });
    }
  });
});
