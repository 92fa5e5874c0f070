import { kindOf } from '../valueText';

/** How a vector check names the length it expects and who asks, in its messages. */
export interface CheckVectorOptions {
  /** Where the expected length comes from, e.g. `plan.numParams`. */
  lengthName?: string;
  /** Prefix naming the caller, e.g. `adapter`. */
  source?: string;
}

/** Argument check shared by the engines and the model adapter: a Float32Array of the exact length. */
export function checkVector(
  name: string,
  value: unknown,
  length: number,
  options: CheckVectorOptions = {},
): asserts value is Float32Array {
  const prefix = options.source === undefined ? '' : `${options.source}: `;
  const expected =
    options.lengthName === undefined ? `${length}` : `${options.lengthName} = ${length}`;
  if (!(value instanceof Float32Array)) {
    const received = kindOf(value);
    const of = options.lengthName === undefined ? '' : ` of ${expected} values`;
    throw new TypeError(
      `${prefix}Expected a Float32Array${of} for ${name} but received ${received}` +
        (ArrayBuffer.isView(value) ? ' (convert it with Float32Array.from)' : ''),
    );
  }
  if (value.length !== length) {
    // A transferred (detached) buffer reads as length 0: say so, rather than "received 0".
    const detached =
      value.length === 0 && value.buffer.byteLength === 0 && length > 0
        ? ' (its ArrayBuffer is empty: was it transferred to a worker or detached?)'
        : '';
    throw new RangeError(
      `${prefix}Expected ${expected} values for ${name} but received ${value.length}${detached}`,
    );
  }
}
