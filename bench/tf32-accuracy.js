#!/usr/bin/env node
'use strict';
/**
 * Would a TF32 tensor-core path for the CUDA engine still meet SPEC §10b (every entry within
 * 1e-4 · max|reference| + 1e-6 of a float64 evaluation)? Tensor cores in TF32 mode round each
 * float32 operand to 10 mantissa bits and accumulate in float32. This computes ΔW = A · B for
 * LoRA shapes three ways: float64 (the reference), float32 (what the engine does: fmaf over the
 * ranks) and TF32 inputs with a float32 accumulation. It prints each one's worst error relative
 * to max|reference|. Run: node bench/tf32-accuracy.js (a second or two).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to TF32: float32 with the low 13 mantissa bits rounded off (to nearest, ties even). */
function tf32(x) {
  f32[0] = x;
  const bits = u32[0];
  const lsb = (bits >>> 13) & 1;
  u32[0] = ((bits + 0x0fff + lsb) & ~0x1fff) >>> 0;
  return f32[0];
}

/** A seeded normal generator (xorshift32 + Box–Muller), so runs repeat. */
function normals(seed) {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function worstErrors(rows, cols, rank, seed) {
  const next = normals(seed);
  const a = Float32Array.from({ length: rows * rank }, () => next() / Math.sqrt(rows));
  const b = Float32Array.from({ length: rank * cols }, () => next() / Math.sqrt(rank));
  const aTf32 = a.map(tf32);
  const bTf32 = b.map(tf32);
  let maxReference = 0;
  let float32Error = 0;
  let tf32Error = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let reference = 0;
      let single = 0;
      let tensor = 0;
      for (let k = 0; k < rank; k++) {
        const x = a[i * rank + k];
        const y = b[k * cols + j];
        reference += x * y;
        // A float32 product is exact in a double: one rounding per step, as fmaf does.
        single = Math.fround(single + x * y);
        tensor = Math.fround(tensor + aTf32[i * rank + k] * bTf32[k * cols + j]);
      }
      maxReference = Math.max(maxReference, Math.abs(reference));
      float32Error = Math.max(float32Error, Math.abs(single - reference));
      tf32Error = Math.max(tf32Error, Math.abs(tensor - reference));
    }
  }
  return { float32: float32Error / maxReference, tf32: tf32Error / maxReference };
}

console.log('ΔW = A · B, worst |error| / max|reference| over 3 seeds (SPEC §10b allows 1e-4)');
for (const [rows, cols, rank] of [
  [768, 768, 1],
  [768, 768, 8],
  [768, 768, 64],
  [3072, 768, 16],
]) {
  let float32 = 0;
  let tf32Worst = 0;
  for (let seed = 1; seed <= 3; seed++) {
    const errors = worstErrors(rows, cols, rank, seed);
    float32 = Math.max(float32, errors.float32);
    tf32Worst = Math.max(tf32Worst, errors.tf32);
  }
  console.log(
    `  ${rows} × ${cols}, rank ${String(rank).padStart(2)}: float32 ${float32.toExponential(2)}, ` +
      `TF32 ${tf32Worst.toExponential(2)} (${(tf32Worst / 1e-4).toFixed(1)} × the tolerance)`,
  );
}
