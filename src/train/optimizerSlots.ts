/**
 * An optimizer's state as slots of named variables (`exp_avg` → variable name → tensor), restored
 * from and disposed for checkpoints the same way by every optimizer.
 *
 * The state variables carry no name of their own in tfjs's registry (tfjs numbers them): names
 * such as `w.momentum` are global, so a second optimizer for another variable called `w` (two
 * models in one process, or an optimizer not yet disposed) would be refused as "already
 * registered". The variable's name is the key of its slot map, which is what checkpoints save.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './checkpoint';

/** A state variable holding `initial`, registered under a name unique to it rather than a global one. */
export function slotVariable(initial: tf.Tensor): tf.Variable {
  return tf.variable(initial, false);
}

/**
 * The state tensors of `slotNames` from a checkpoint, keyed by variable name; a slot that is not
 * one of `slotNames` is refused by name. Nothing is left allocated when a tensor cannot be made.
 */
export function restoreSlots(
  slotNames: readonly string[],
  saved: ReadonlyMap<string, ReadonlyMap<string, NamedArray>>,
  optimizer: string,
): Map<string, Map<string, tf.Variable>> {
  for (const slot of saved.keys()) {
    if (!slotNames.includes(slot)) {
      throw new Error(
        `Expected ${optimizer} state (${slotNames.join(', ')}) but the checkpoint has ${slot}`,
      );
    }
  }
  const restored = new Map(slotNames.map((slot) => [slot, new Map<string, tf.Variable>()]));
  try {
    for (const [slot, buffers] of restored) {
      for (const [name, { values, shape }] of saved.get(slot) ?? []) {
        buffers.set(
          name,
          tf.tidy(() => slotVariable(tf.tensor(values, shape, 'float32'))),
        );
      }
    }
  } catch (error) {
    disposeSlots(restored);
    throw error;
  }
  return restored;
}

export function disposeSlots(slots: ReadonlyMap<string, Map<string, tf.Variable>>): void {
  for (const slot of slots.values()) {
    for (const variable of slot.values()) variable.dispose();
    slot.clear();
  }
}
