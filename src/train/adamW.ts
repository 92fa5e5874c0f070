/**
 * AdamW (Loshchilov & Hutter), PyTorch's `torch.optim.AdamW` without amsgrad: at update t,
 *
 *   w ← w·(1 − lr·λ)
 *   m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
 *   w ← w − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * m and v start at zero and are checkpointed as `exp_avg` and `exp_avg_sq`; t is the training
 * step, so a resumed run corrects the bias exactly as an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './checkpoint';
import { valueText } from '../valueText';
import { checkOptimizerSetting, checkUpdate } from './optimizerChecks';
import type { Optimizer } from './optimizer';
import { disposeSlots, restoreSlots, slotVariable } from './optimizerSlots';

export interface AdamWOptions {
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

const FIRST_MOMENT = 'exp_avg';
const SECOND_MOMENT = 'exp_avg_sq';

export class AdamW implements Optimizer {
  private state = new Map<string, Map<string, tf.Variable>>([
    [FIRST_MOMENT, new Map()],
    [SECOND_MOMENT, new Map()],
  ]);
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(private readonly options: AdamWOptions) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    checkOptimizerSetting('AdamW weightDecay', options.weightDecay);
    for (const [name, value] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(value >= 0 && value < 1)) {
        throw new RangeError(`Expected AdamW ${name} in [0, 1) but received ${value}`);
      }
    }
    if (!(this.epsilon > 0)) {
      throw new RangeError(`Expected AdamW epsilon in (0, ∞) but received ${this.epsilon}`);
    }
  }

  get slots(): ReadonlyMap<string, Map<string, tf.Variable>> {
    return this.state;
  }

  /**
   * Applies update `step` (counted from 1: it sets the bias correction) to each variable with a
   * gradient. Every argument is checked before the first moment or weight changes, so a refused
   * update leaves all of them as they were.
   */
  apply(
    variables: Map<string, tf.Variable>,
    gradients: Map<string, tf.Tensor>,
    lr: number,
    step: number,
  ): void {
    checkStep(step);
    checkUpdate('AdamW', variables, gradients, lr, this.state);
    const { beta1, beta2, epsilon } = this;
    const firstMoments = this.state.get(FIRST_MOMENT) as Map<string, tf.Variable>;
    const secondMoments = this.state.get(SECOND_MOMENT) as Map<string, tf.Variable>;
    const stepSize = lr / (1 - beta1 ** step);
    const secondCorrection = Math.sqrt(1 - beta2 ** step);
    tf.tidy(() => {
      for (const [name, gradient] of gradients) {
        const variable = variables.get(name) as tf.Variable;
        const m = moment(firstMoments, name, variable);
        const v = moment(secondMoments, name, variable);
        m.assign(m.mul(beta1).add(gradient.mul(1 - beta1)));
        v.assign(v.mul(beta2).add(gradient.square().mul(1 - beta2)));
        const decayed =
          this.options.weightDecay !== 0
            ? variable.mul(1 - lr * this.options.weightDecay)
            : variable;
        const denominator = v.sqrt().div(secondCorrection).add(epsilon);
        variable.assign(decayed.sub(m.div(denominator).mul(stepSize)));
      }
    });
  }

  /** Restores saved moments; the current ones are dropped only once the saved ones are made. */
  load(slots: ReadonlyMap<string, ReadonlyMap<string, NamedArray>>): void {
    const restored = restoreSlots([FIRST_MOMENT, SECOND_MOMENT], slots, 'AdamW');
    this.dispose();
    this.state = restored;
  }

  dispose(): void {
    disposeSlots(this.state);
  }
}

/**
 * Throws a RangeError unless `step` is an integer ≥ 1: the bias correction divides by 1 − β1ᵗ,
 * which is 0 at t = 0, and a fractional or NaN t gives a meaningless correction.
 */
function checkStep(step: number): void {
  if (!(Number.isInteger(step) && step >= 1)) {
    throw new RangeError(
      `Expected an AdamW step count ≥ 1 (an integer, updates counted from 1) but received ${valueText(step)}`,
    );
  }
}

/** The moment `name` of `slot`, zeros of the variable's shape on first use. */
function moment(slot: Map<string, tf.Variable>, name: string, variable: tf.Variable): tf.Variable {
  let value = slot.get(name);
  if (!value) {
    value = slotVariable(tf.zerosLike(variable));
    slot.set(name, value);
  }
  return value;
}
