/**
 * Deterministic inputs for the benchmarks: values in [-1, 1) from a multiplicative hash of the
 * index, cheap enough for arrays of 2^24 floats. What the kernels compute does not depend on them,
 * only that they are finite and differ from seed to seed.
 */
export function benchValues(length: number, seed: number): Float32Array {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = ((((i + seed) * 2654435761) >>> 16) % 201) / 100 - 1;
  return data;
}
