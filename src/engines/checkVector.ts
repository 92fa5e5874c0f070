/** Argument check shared by the engines: a Float32Array of the exact length. */
export function checkVector(
  name: string,
  value: unknown,
  length: number,
): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    const received =
      value === null ? 'null' : typeof value === 'object' ? value.constructor.name : typeof value;
    throw new TypeError(`Expected a Float32Array for ${name} but received ${received}`);
  }
  if (value.length !== length) {
    throw new RangeError(`Expected ${length} values for ${name} but received ${value.length}`);
  }
}
