/**
 * A tfjs Layers API model (`tf.sequential`, `tf.model`, or one loaded with `tf.loadLayersModel`)
 * as an {@link AdaptableModel}: its Dense and Conv1D / Conv2D / Conv3D kernels become adapter
 * targets, so a SuperLoRA adapter fine-tunes a model the user already has.
 *
 * tfjs stores a kernel as [...kernelSize, in, out]; the target is that kernel as a matrix
 * [out, kernelSize·in] (a Dense kernel [in, out] is the target [out, in], the Hugging Face
 * layout). The forward hands every adapted kernel's read through the adapter's weight override,
 * so ΔW_t enters the layer's own op (matMul, conv) and its gradient reaches the adapter.
 */
import * as tf from '@tensorflow/tfjs';
import type { Target } from '../config';
import { kindOf } from '../valueText';
import type { AdaptableModel } from './modelAdapter';

/** The layer classes whose kernel is [...kernelSize, in, out] and is read once per call. */
const KERNEL_LAYERS: ReadonlySet<string> = new Set(['Dense', 'Conv1D', 'Conv2D', 'Conv3D']);

/** A weight override as `ModelAdapter.withDelta` hands it out: [out, in] in, [out, in] out. */
export type WeightOverride = (name: string, weight: tf.Tensor) => tf.Tensor;

export interface LayersForwardOptions {
  /** Dropout and other training-only behaviour, as in `model.apply(x, { training })`. */
  training?: boolean;
  weightOverride?: WeightOverride;
}

interface AdaptableKernel {
  readonly variable: tf.LayerVariable;
  /** The kernel's tfjs shape, [...kernelSize, in, out]. */
  readonly kernelShape: readonly number[];
  readonly target: Target;
}

/** A layer whose kernel an adapter may target (the Layers API does not type `kernel`). */
interface KernelLayer extends tf.layers.Layer {
  kernel?: tf.LayerVariable;
}

export class AdaptableLayersModel implements AdaptableModel {
  readonly weights = new Map<string, tf.Variable>();
  private readonly kernels = new Map<string, AdaptableKernel>();

  /** Throws a TypeError if `model` is not a LayersModel or has no Dense or convolution kernel. */
  constructor(readonly model: tf.LayersModel) {
    if (!(model instanceof tf.LayersModel)) {
      throw new TypeError(
        `Expected a tf.LayersModel (tf.sequential, tf.model or tf.loadLayersModel) but received ${kindOf(model)}`,
      );
    }
    this.collect(model, '', { next: 0 });
    if (this.kernels.size === 0) {
      throw new TypeError(
        `Expected the model ${model.name} to have a Dense, Conv1D, Conv2D or Conv3D layer to adapt, but it has none (its layers: ${model.layers.map((l) => l.getClassName()).join(', ')})`,
      );
    }
  }

  /** Walks the layers depth first; nested models' layers are named `outer/inner/kernel`. */
  private collect(container: tf.LayersModel, prefix: string, counter: { next: number }): void {
    for (const layer of container.layers as KernelLayer[]) {
      if (layer instanceof tf.LayersModel) {
        this.collect(layer, `${prefix}${layer.name}/`, counter);
        continue;
      }
      const layerIndex = counter.next++;
      if (!KERNEL_LAYERS.has(layer.getClassName())) continue;
      const name = `${prefix}${layer.name}/kernel`;
      // tfjs builds every layer of a model as the model is made (a Sequential refuses a first
      // layer without inputShape), so the kernel exists and each of its dimensions is known.
      const variable = layer.kernel as tf.LayerVariable;
      const kernelShape = variable.shape as number[];
      const out = kernelShape[kernelShape.length - 1] as number;
      const input = kernelShape.slice(0, -1).reduce((a, b) => a * b, 1);
      this.weights.set(name, variable.read() as tf.Variable);
      this.kernels.set(name, {
        variable,
        kernelShape,
        target: { name, shape: [out, input], layer: layerIndex },
      });
    }
  }

  /** Every Dense and convolution kernel, as [out, kernelSize·in], in the model's layer order. */
  linearTargets(): Target[] {
    return [...this.kernels.values()].map(({ target }) => ({
      name: target.name,
      shape: [target.shape[0], target.shape[1]],
      layer: target.layer,
    }));
  }

  /** A target matrix [out, kernelSize·in] as the kernel [...kernelSize, in, out]. */
  toWeightLayout(name: string, delta: tf.Tensor2D): tf.Tensor {
    const kernel = this.kernel(name);
    return delta.transpose().reshape(kernel.kernelShape as number[]);
  }

  /**
   * The model's output for `inputs` (`model.apply` on concrete tensors), with every kernel an
   * override is given for read as `weightOverride(name, kernel as [out, in])`. Pass it the
   * override of `ModelAdapter.withDelta` to run the model with W + ΔW, differentiably.
   */
  apply(
    inputs: tf.Tensor | tf.Tensor[],
    options: LayersForwardOptions = {},
  ): tf.Tensor | tf.Tensor[] {
    const override = options.weightOverride;
    const patched: tf.LayerVariable[] = [];
    try {
      if (override) {
        for (const [name, kernel] of this.kernels) {
          const original = this.weights.get(name) as tf.Variable;
          const shape = kernel.kernelShape as number[];
          const out = shape[shape.length - 1] as number;
          // An instance property shadows LayerVariable.prototype.read for this forward only.
          kernel.variable.read = () => {
            const matrix = tf.tidy(() => original.reshape([-1, out]).transpose());
            const adapted = override(name, matrix);
            if (adapted === matrix) {
              // Not adapted, or merged: the layer reads its own kernel.
              matrix.dispose();
              return original;
            }
            checkOverrideShape(name, adapted, kernel.target.shape);
            return adapted.transpose().reshape(shape);
          };
          patched.push(kernel.variable);
        }
      }
      return this.model.apply(inputs, { training: options.training ?? false }) as
        tf.Tensor | tf.Tensor[];
    } finally {
      for (const variable of patched) delete (variable as { read?: unknown }).read;
    }
  }

  private kernel(name: string): AdaptableKernel {
    const kernel = this.kernels.get(name);
    if (!kernel) {
      throw new TypeError(
        `Expected the name of an adaptable kernel (${[...this.kernels.keys()].join(', ')}) but received ${JSON.stringify(name)}`,
      );
    }
    return kernel;
  }
}

function checkOverrideShape(name: string, weight: tf.Tensor, shape: readonly number[]): void {
  if (weight.shape.length !== 2 || weight.shape[0] !== shape[0] || weight.shape[1] !== shape[1]) {
    throw new TypeError(
      `Expected weightOverride to return shape [${shape.join(', ')}] for ${name} but received [${weight.shape.join(', ')}]`,
    );
  }
}
