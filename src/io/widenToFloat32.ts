/** Float tensors of a safetensors file as float32: F32 as is; F16 and BF16 (as HF hub checkpoints often are) widened exactly. */
import type { SafeTensor } from './safetensors';

/** The tensor's values as float32, or null when its dtype is not F32, F16 or BF16. */
export function widenToFloat32(tensor: SafeTensor): Float32Array | null {
  switch (tensor.dtype) {
    case 'F32':
      return tensor.data;
    case 'BF16': {
      // bfloat16 is the high half of a float32.
      const bits = new Uint32Array(tensor.data.length);
      for (let i = 0; i < bits.length; i++) bits[i] = (tensor.data[i] as number) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F16': {
      const values = new Float32Array(tensor.data.length);
      for (let i = 0; i < values.length; i++) values[i] = halfToFloat(tensor.data[i] as number);
      return values;
    }
    default:
      return null;
  }
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
