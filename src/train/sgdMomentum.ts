/**
 * SGD with momentum and weight decay, PyTorch semantics: buf = μ·buf + (g + λ·w); w −= lr·buf.
 * Written out (rather than tf.train.momentum) so its state is plain named tensors that checkpoints
 * save and restore exactly, and the learning rate can change every step.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './checkpoint';
import { checkOptimizerSetting } from './checkOptimizerSetting';
import type { Optimizer } from './optimizer';
import { disposeSlots, restoreSlots } from './optimizerSlots';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

const MOMENTUM_SLOT = 'momentum';

export class SgdMomentum implements Optimizer {
  private state = new Map<string, Map<string, tf.Variable>>([[MOMENTUM_SLOT, new Map()]]);

  constructor(private readonly options: SgdOptions) {
    checkOptimizerSetting('SGD momentum', options.momentum, 1);
    checkOptimizerSetting('SGD weightDecay', options.weightDecay);
  }

  get slots(): ReadonlyMap<string, Map<string, tf.Variable>> {
    return this.state;
  }

  /** Momentum buffers by variable name, created on first use. */
  get buffers(): Map<string, tf.Variable> {
    return this.state.get(MOMENTUM_SLOT) as Map<string, tf.Variable>;
  }

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
          buffer = tf.variable(decayed, false, `${name}.${MOMENTUM_SLOT}`);
          this.buffers.set(name, buffer);
        } else {
          buffer.assign(buffer.mul(momentum).add(decayed));
        }
        variable.assign(variable.sub(buffer.mul(lr)));
      }
    });
  }

  load(slots: ReadonlyMap<string, ReadonlyMap<string, NamedArray>>): void {
    this.dispose();
    this.state = restoreSlots([MOMENTUM_SLOT], slots, 'SGD');
  }

  dispose(): void {
    disposeSlots(this.state);
  }
}
