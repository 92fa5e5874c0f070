/**
 * An optimizer's state as slots of named variables (`exp_avg` → variable name → tensor), restored
 * from and disposed for checkpoints the same way by every optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedArray } from './checkpoint';

/**
 * The state tensors of `slotNames` from a checkpoint, as variables named `<variable>.<slot>`; a
 * slot that is not one of `slotNames` is refused by name.
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
  return new Map(
    slotNames.map((slot) => [
      slot,
      new Map(
        [...(saved.get(slot) ?? [])].map(([name, { values, shape }]) => [
          name,
          tf.variable(tf.tensor(values, shape, 'float32'), false, `${name}.${slot}`),
        ]),
      ),
    ]),
  );
}

export function disposeSlots(slots: ReadonlyMap<string, Map<string, tf.Variable>>): void {
  for (const slot of slots.values()) {
    for (const variable of slot.values()) variable.dispose();
    slot.clear();
  }
}
