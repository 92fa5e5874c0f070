/**
 * The fused attention core of src/vit/fusedOps.ts on the addon (native/ops/fused_ops.h): per batch
 * and head, softmax(QKᵀ · scale)·V read and written in the projections' [batch·tokens,
 * heads·headSize] layout, so the head transposes, the scaling and the two batched matMuls of the
 * composed ops (and their gradients) become one kernel each way.
 */
import type * as tf from '@tensorflow/tfjs';
import { outputArray, outputTensor } from './outputPool';
import { loadAddon } from '../../native/loadAddon';
import { ATTENTION, ATTENTION_GRAD } from '../../vit/fusedOps';
import { cpuBackend, requireFloat32Inputs, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND } from './stockKernels';

/** batch, tokens, heads, headSize and scale from q's shape and the kernel's attrs. */
function attentionShape(args: KernelArgs): [number, number, number, number, number] {
  const [rows, width] = (args.inputs['q'] as tf.TensorInfo).shape as [number, number];
  const tokens = args.attrs?.['tokens'] as number;
  const heads = args.attrs?.['heads'] as number;
  const scale = args.attrs?.['scale'] as number;
  return [rows / tokens, tokens, heads, width / heads, scale];
}

function attention(args: KernelArgs): tf.TensorInfo[] {
  const [q, k, v] = requireFloat32Inputs(args, ATTENTION, ['q', 'k', 'v']) as [
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const [batch, tokens, heads, headSize, scale] = attentionShape(args);
  const out = outputArray(q.length);
  const probs = outputArray(batch * heads * tokens * tokens);
  loadAddon().attention(q, k, v, batch, tokens, heads, headSize, scale, out, probs);
  const backend = cpuBackend(args);
  const shape = (args.inputs['q'] as tf.TensorInfo).shape;
  return [
    outputTensor(backend, [...shape], out),
    outputTensor(backend, [batch * heads * tokens, tokens], probs),
  ];
}

function attentionGrad(args: KernelArgs): tf.TensorInfo[] {
  const [dy, q, k, v, probs] = requireFloat32Inputs(args, ATTENTION_GRAD, [
    'dy',
    'q',
    'k',
    'v',
    'probs',
  ]) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const [batch, tokens, heads, headSize, scale] = attentionShape(args);
  const dq = outputArray(q.length);
  const dk = outputArray(q.length);
  const dv = outputArray(q.length);
  loadAddon().attentionBackward(
    dy,
    q,
    k,
    v,
    probs,
    batch,
    tokens,
    heads,
    headSize,
    scale,
    dq,
    dk,
    dv,
  );
  const backend = cpuBackend(args);
  const shape = [...(args.inputs['q'] as tf.TensorInfo).shape];
  return [dq, dk, dv].map((values) => outputTensor(backend, shape, values));
}

export const attentionConfig: tf.KernelConfig = {
  kernelName: ATTENTION,
  backendName: CPU_BACKEND,
  kernelFunc: attention as tf.KernelFunc,
};

export const attentionGradConfig: tf.KernelConfig = {
  kernelName: ATTENTION_GRAD,
  backendName: CPU_BACKEND,
  kernelFunc: attentionGrad as tf.KernelFunc,
};
