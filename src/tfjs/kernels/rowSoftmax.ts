/**
 * The fused row softmax of src/vit/fusedOps.ts on the addon: forward as tfjs's cpu Softmax kernel
 * composes it (the same native loop as src/tfjs/kernels/softmax.ts), backward in one pass.
 */
import type * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../native/loadAddon';
import { SOFTMAX, SOFTMAX_GRAD } from '../../vit/fusedOps';
import { cpuBackend, requireFloat32Values, type KernelArgs } from './cpuBackend';
import { CPU_BACKEND } from './stockKernels';

/** [rows, cols] of a tensor viewed as rows of its last axis. */
function rowsAndCols(info: tf.TensorInfo): [number, number] {
  const cols = info.shape.at(-1) ?? 1;
  const size = info.shape.reduce((product, dim) => product * dim, 1);
  return [cols === 0 ? 0 : size / cols, cols];
}

function rowSoftmax(args: KernelArgs): tf.TensorInfo {
  const logits = args.inputs['logits'] as tf.TensorInfo;
  const backend = cpuBackend(args);
  const values = requireFloat32Values(backend, logits, SOFTMAX, 'logits');
  const [rows, cols] = rowsAndCols(logits);
  const y = new Float32Array(values.length);
  loadAddon().softmax(values, y, rows, cols);
  return backend.makeTensorInfo([...logits.shape], 'float32', y);
}

function rowSoftmaxGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, y } = args.inputs;
  const backend = cpuBackend(args);
  const yValues = requireFloat32Values(backend, y, SOFTMAX_GRAD, 'y');
  const [rows, cols] = rowsAndCols(y as tf.TensorInfo);
  const dx = new Float32Array(yValues.length);
  loadAddon().softmaxBackward(
    requireFloat32Values(backend, dy, SOFTMAX_GRAD, 'dy'),
    yValues,
    dx,
    rows,
    cols,
  );
  return backend.makeTensorInfo([...(y as tf.TensorInfo).shape], 'float32', dx);
}

export const rowSoftmaxConfig: tf.KernelConfig = {
  kernelName: SOFTMAX,
  backendName: CPU_BACKEND,
  kernelFunc: rowSoftmax as tf.KernelFunc,
};

export const rowSoftmaxGradConfig: tf.KernelConfig = {
  kernelName: SOFTMAX_GRAD,
  backendName: CPU_BACKEND,
  kernelFunc: rowSoftmaxGrad as tf.KernelFunc,
};
