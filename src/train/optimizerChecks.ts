/**
 * The checks the optimizers run before they change anything: their settings, and the arguments
 * of each update. An update that fails half-way would leave some weights and moments updated and
 * others not, and a retry would count a gradient twice, so every argument is checked first.
 */
import type * as tf from '@tensorflow/tfjs';
import { valueText } from '../valueText';

/** A shape as `[5, 1]`. */
function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws a RangeError naming `what` unless `value` is a finite number in [0, max]: an undefined or
 * NaN setting would otherwise turn every weight into NaN without an error.
 */
export function checkOptimizerSetting(what: string, value: number, max = Infinity): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= max)) {
    const range = max === Infinity ? '[0, ∞)' : `[0, ${max}]`;
    throw new RangeError(`Expected ${what} in ${range} but received ${valueText(value)}`);
  }
}

/**
 * Throws unless `lr` is a finite number ≥ 0 (a TypeError when it is no number at all): NaN, an
 * infinite or an undefined rate turns every weight into NaN, and a negative one climbs the loss.
 */
export function checkLearningRate(optimizer: string, lr: unknown): void {
  if (typeof lr !== 'number') {
    throw new TypeError(
      `Expected the ${optimizer} learning rate (lr) to be a finite number ≥ 0 but received ${valueText(lr)}`,
    );
  }
  checkOptimizerSetting(`the ${optimizer} learning rate (lr)`, lr);
}

/** Throws a TypeError naming `what` unless `value` is a Map (of name → tensor). */
function checkMap(optimizer: string, what: string, value: unknown): void {
  if (!(value instanceof Map)) {
    throw new TypeError(
      `Expected ${optimizer}'s ${what} to be a Map of name → tensor but received ${valueText(value)}`,
    );
  }
}

/**
 * Throws unless `gradient` fits the variable `name`: a live float32 tensor of exactly the
 * variable's shape. tfjs would broadcast a [1] gradient over a [5] variable without a word, and a
 * [5, 1] one into a [5, 5] moment before failing.
 */
function checkGradient(name: string, gradient: tf.Tensor, variable: tf.Variable): void {
  if (gradient === null || typeof gradient !== 'object' || !Array.isArray(gradient.shape)) {
    throw new TypeError(
      `Expected the gradient of ${name} to be a tensor but received ${valueText(gradient)}`,
    );
  }
  if (gradient.isDisposed) {
    throw new TypeError(`Expected the gradient of ${name} to be a live tensor but it is disposed`);
  }
  if (variable.dtype !== 'float32') {
    throw new TypeError(`Expected the variable ${name} to be float32 but it is ${variable.dtype}`);
  }
  if (gradient.dtype !== 'float32') {
    throw new TypeError(
      `Expected the gradient of ${name} to be float32 like its variable but received ${gradient.dtype}`,
    );
  }
  if (shapeText(gradient.shape) !== shapeText(variable.shape)) {
    throw new RangeError(
      `Expected the gradient of ${name} to have its variable's shape ${shapeText(variable.shape)} but received ${shapeText(gradient.shape)}`,
    );
  }
}

/**
 * Throws unless the state the optimizer already keeps for `name` has the variable's shape: state
 * restored from a checkpoint of another model would otherwise fail in the middle of an update.
 */
function checkSlotShapes(
  name: string,
  variable: tf.Variable,
  slots: ReadonlyMap<string, ReadonlyMap<string, tf.Variable>>,
): void {
  for (const [slot, buffers] of slots) {
    const buffer = buffers.get(name);
    if (buffer && shapeText(buffer.shape) !== shapeText(variable.shape)) {
      throw new RangeError(
        `Expected the ${slot} state of ${name} to have its variable's shape ${shapeText(variable.shape)} but it has ${shapeText(buffer.shape)}`,
      );
    }
  }
}

/**
 * Checks one update's arguments in full before the optimizer touches anything: both maps, the
 * learning rate, and for every gradient its variable, dtype and shape and the state kept for it.
 */
export function checkUpdate(
  optimizer: string,
  variables: ReadonlyMap<string, tf.Variable>,
  gradients: ReadonlyMap<string, tf.Tensor>,
  lr: number,
  slots: ReadonlyMap<string, ReadonlyMap<string, tf.Variable>>,
): void {
  checkMap(optimizer, 'variables', variables);
  checkMap(optimizer, 'gradients', gradients);
  checkLearningRate(optimizer, lr);
  for (const [name, gradient] of gradients) {
    const variable = variables.get(name);
    if (!variable) {
      const known = [...variables.keys()].slice(0, 5).map(valueText).join(', ');
      throw new RangeError(
        `Expected each of ${optimizer}'s gradients to name a variable (${known}${variables.size > 5 ? ', …' : ''}) but received a gradient for ${valueText(name)}, which names none`,
      );
    }
    checkGradient(name, gradient, variable);
    checkSlotShapes(name, variable, slots);
  }
}
