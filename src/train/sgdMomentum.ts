/**
 * SGD with momentum and weight decay, PyTorch semantics: buf = μ·buf + (g + λ·w); w −= lr·buf.
 * Written out (rather than tf.train.momentum) so its state is plain named tensors that checkpoints
 * save and restore exactly, and the learning rate can change every step.
 */
import * as tf from '@tensorflow/tfjs';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

export class SgdMomentum {
  /** Momentum buffers by variable name, created on first use. */
  readonly buffers = new Map<string, tf.Variable>();

  constructor(private readonly options: SgdOptions) {}

  /** Applies one update to each variable with a gradient. */
  apply(variables: Map<string, tf.Variable>, gradients: Map<string, tf.Tensor>, lr: number): void {
    const { momentum, weightDecay } = this.options;
    tf.tidy(() => {
      for (const [name, gradient] of gradients) {
        const variable = variables.get(name);
        if (!variable) throw new Error(`No variable named ${name} for its gradient`);
        const decayed = weightDecay !== 0 ? gradient.add(variable.mul(weightDecay)) : gradient;
        let buffer = this.buffers.get(name);
        if (!buffer) {
          buffer = tf.variable(decayed, false, `${name}.momentum`);
          this.buffers.set(name, buffer);
        } else {
          buffer.assign(buffer.mul(momentum).add(decayed));
        }
        variable.assign(variable.sub(buffer.mul(lr)));
      }
    });
  }

  /** Restores buffers (from a checkpoint). */
  load(buffers: Map<string, Float32Array>, shapes: Map<string, number[]>): void {
    this.dispose();
    for (const [name, values] of buffers) {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`No variable named ${name} for its momentum buffer`);
      this.buffers.set(
        name,
        tf.variable(tf.tensor(values, shape, 'float32'), false, `${name}.momentum`),
      );
    }
  }

  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}
