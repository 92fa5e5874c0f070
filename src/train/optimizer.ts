/**
 * The optimizers the training loop offers, behind one interface whose state is plain named
 * tensors by slot (PyTorch's names: `momentum_buffer` is saved as `momentum`, `exp_avg`,
 * `exp_avg_sq`), so a checkpoint saves and restores it exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamW } from './adamW';
import type { NamedArray } from './checkpoint';
import { SgdMomentum } from './sgdMomentum';

export type OptimizerName = 'sgd' | 'adamw';
export const optimizerNames: readonly OptimizerName[] = ['sgd', 'adamw'];

/** SGD's momentum when none is given (the CLI's `--momentum` default too). */
export const DEFAULT_SGD_MOMENTUM = 0.9;

export interface OptimizerSettings {
  /** Default `sgd`. */
  optimizer?: OptimizerName;
  /** SGD's momentum, in [0, 1]. Default {@link DEFAULT_SGD_MOMENTUM}; AdamW ignores it. */
  momentum?: number;
  /** SGD: L2 added to the gradient; AdamW: decoupled decay, w −= lr·λ·w. Default 0. */
  weightDecay?: number;
  /** AdamW's β1, β2 and ε (PyTorch's defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface Optimizer {
  /** One update of each variable with a gradient; `step` counts updates from 1. */
  apply(
    variables: Map<string, tf.Variable>,
    gradients: Map<string, tf.Tensor>,
    lr: number,
    step: number,
  ): void;
  /** State tensors by slot, then by variable name. */
  readonly slots: ReadonlyMap<string, Map<string, tf.Variable>>;
  /** Restores state saved from `slots` (a checkpoint); a slot this optimizer does not keep is refused. */
  load(slots: ReadonlyMap<string, ReadonlyMap<string, NamedArray>>): void;
  dispose(): void;
}

/** Creates the optimizer `settings` name. */
export function createOptimizer(settings: OptimizerSettings): Optimizer {
  const name = settings.optimizer ?? 'sgd';
  const weightDecay = settings.weightDecay ?? 0;
  if (name === 'sgd') {
    return new SgdMomentum({ momentum: settings.momentum ?? DEFAULT_SGD_MOMENTUM, weightDecay });
  }
  if (name === 'adamw') {
    return new AdamW({
      weightDecay,
      beta1: settings.beta1,
      beta2: settings.beta2,
      epsilon: settings.epsilon,
    });
  }
  throw new RangeError(
    `Expected one of ${optimizerNames.join(', ')} for optimizer but received ${String(name)}`,
  );
}
