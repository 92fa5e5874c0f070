/**
 * Throws a RangeError naming `what` unless `value` is a finite number in [0, max]: an undefined or
 * NaN setting would otherwise turn every weight into NaN without an error.
 */
export function checkOptimizerSetting(what: string, value: number, max = Infinity): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= max)) {
    const range = max === Infinity ? '[0, ∞)' : `[0, ${max}]`;
    throw new RangeError(`Expected ${what} in ${range} but received ${String(value)}`);
  }
}
