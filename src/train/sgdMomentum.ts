/**
 * SGD with momentum and weight decay, PyTorch semantics: buf = μ·buf + (g + λ·w); w −= lr·buf.
 * Written out (rather than tf.train.momentum) so its state is plain named tensors that checkpoints
 * save and restore exactly, and the learning rate can change every step.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './checkpoint';
import { checkOptimizerSetting, checkUpdate } from './optimizerChecks';
import type { Optimizer } from './optimizer';
import { disposeSlots, restoreSlots, slotVariable } from './optimizerSlots';

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

  /**
   * Applies one update to each variable with a gradient. Every argument is checked before the
   * first buffer or weight changes, so a refused update leaves all of them as they were; SGD has
   * no bias correction, so the step count is not needed (and not checked).
   */
  apply(variables: Map<string, tf.Variable>, gradients: Map<string, tf.Tensor>, lr: number): void {
    checkUpdate('SGD', variables, gradients, lr, this.state);
    const { momentum, weightDecay } = this.options;
    tf.tidy(() => {
      for (const [name, gradient] of gradients) {
        const variable = variables.get(name) as tf.Variable;
        const decayed = weightDecay !== 0 ? gradient.add(variable.mul(weightDecay)) : gradient;
        let buffer = this.buffers.get(name);
        if (!buffer) {
          buffer = slotVariable(decayed);
          this.buffers.set(name, buffer);
        } else {
          buffer.assign(buffer.mul(momentum).add(decayed));
        }
        variable.assign(variable.sub(buffer.mul(lr)));
      }
    });
  }

  /** Restores saved buffers; the current ones are dropped only once the saved ones are made. */
  load(slots: ReadonlyMap<string, ReadonlyMap<string, NamedArray>>): void {
    const restored = restoreSlots([MOMENTUM_SLOT], slots, 'SGD');
    this.dispose();
    this.state = restored;
  }

  dispose(): void {
    disposeSlots(this.state);
  }
}
