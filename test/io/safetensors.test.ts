import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  DTYPES,
  type DType,
  type SafeTensor,
  SafetensorsFormatError,
  decodeSafetensors,
  dtypeByteSize,
  encodeSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from '../../src/io/safetensors';

/** Builds a file from a header (object or raw text) and a data buffer, with a correct length prefix. */
function buildFile(header: unknown, data: Uint8Array | number = 0): Buffer {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const headerBytes = Buffer.from(text, 'utf8');
  const dataBytes = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  return Buffer.concat([prefix, headerBytes, dataBytes]);
}

function expectFormatError(bytes: Uint8Array, ...fragments: string[]): SafetensorsFormatError {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, 'bad.safetensors');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SafetensorsFormatError);
  const error = caught as SafetensorsFormatError;
  expect(error.name).toBe('SafetensorsFormatError');
  expect(error.source).toBe('bad.safetensors');
  expect(error.message.startsWith('bad.safetensors: ')).toBe(true);
  for (const fragment of fragments) {
    expect(error.message).toContain(fragment);
  }
  return error;
}

describe('encodeSafetensors: exact bytes', () => {
  it('writes a hand-checked file with metadata, a vector and a scalar', () => {
    const tensors = new Map<string, SafeTensor>([
      ['w', { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) }],
      ['idx', { dtype: 'I32', shape: [], data: new Int32Array([7]) }],
    ]);
    const encoded = encodeSafetensors(tensors, { format: 'superlora' });

    const headerJson =
      '{"__metadata__":{"format":"superlora"},' +
      '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"idx":{"dtype":"I32","shape":[],"data_offsets":[8,12]}}';
    // 147 bytes of JSON, padded with 5 spaces to 152 = 0x98 so the data starts at 160, 8-aligned.
    expect(headerJson.length).toBe(147);
    const expected = Buffer.concat([
      Buffer.from([0x98, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from(headerJson + '     ', 'ascii'),
      Buffer.from([0x00, 0x00, 0xc0, 0x3f]), // 1.5f
      Buffer.from([0x00, 0x00, 0x00, 0xc0]), // -2.0f
      Buffer.from([0x07, 0x00, 0x00, 0x00]), // 7
    ]);
    expect(encoded.toString('hex')).toBe(expected.toString('hex'));

    const decoded = decodeSafetensors(expected);
    expect(decoded.metadata).toEqual({ format: 'superlora' });
    expect([...decoded.tensors.keys()]).toEqual(['w', 'idx']);
    expect(decoded.tensors.get('w')).toEqual({
      dtype: 'F32',
      shape: [2],
      data: new Float32Array([1.5, -2]),
    });
    expect(decoded.tensors.get('idx')).toEqual({
      dtype: 'I32',
      shape: [],
      data: new Int32Array([7]),
    });
  });

  it('writes an empty file as {} padded to 8 bytes and omits empty metadata', () => {
    const expected = Buffer.from([
      8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    ]);
    expect(encodeSafetensors({})).toEqual(expected);
    expect(encodeSafetensors(new Map(), {})).toEqual(expected);
    expect(decodeSafetensors(expected)).toEqual({ metadata: {}, tensors: new Map() });
  });

  it('needs no padding when the header is already a multiple of 8', () => {
    // {"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} is 53 bytes; "abcd" makes it 56.
    const encoded = encodeSafetensors({
      abcd: { dtype: 'U8', shape: [1], data: new Uint8Array([9]) },
    });
    expect(encoded.readBigUInt64LE(0)).toBe(56n);
    expect(encoded.byteLength).toBe(8 + 56 + 1);
    expect(encoded.subarray(8, 64).toString()).toBe(
      '{"abcd":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
    );
  });

  it('keeps Map insertion order, also for integer-like names, and non-ASCII names', () => {
    const tensors = new Map<string, SafeTensor>([
      ['zeta', { dtype: 'U8', shape: [1], data: new Uint8Array([1]) }],
      ['10', { dtype: 'U8', shape: [1], data: new Uint8Array([2]) }],
      ['2', { dtype: 'U8', shape: [1], data: new Uint8Array([3]) }],
      ['gewicht.ä.λ', { dtype: 'U8', shape: [1], data: new Uint8Array([4]) }],
    ]);
    const encoded = encodeSafetensors(tensors);
    const headerLength = Number(encoded.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    expect([...encoded.subarray(8 + headerLength)]).toEqual([1, 2, 3, 4]);
    const decoded = decodeSafetensors(encoded);
    expect([...decoded.tensors.keys()]).toEqual(['zeta', '10', '2', 'gewicht.ä.λ']);
    expect([...decoded.tensors.values()].map((tensor) => tensor.data[0])).toEqual([1, 2, 3, 4]);
  });
});

describe('round trip', () => {
  function sample(dtype: DType, count: number): SafeTensor {
    const lanes = dtype === 'C64' ? 2 : 1;
    const length = count * lanes;
    const values = Array.from({ length }, (_, i) => i * 37 - 50);
    switch (dtype) {
      case 'F64':
        return { dtype, shape: [], data: new Float64Array(values.map((v) => v / 3)) };
      case 'F32':
      case 'C64':
        return { dtype, shape: [], data: new Float32Array(values.map((v) => v / 7)) };
      case 'F16':
      case 'BF16':
      case 'U16':
        return { dtype, shape: [], data: new Uint16Array(values.map((v) => (v * 977) & 0xffff)) };
      case 'I64':
        return {
          dtype,
          shape: [],
          data: new BigInt64Array(values.map((v) => BigInt(v) * 123456789012345n)),
        };
      case 'U64':
        return {
          dtype,
          shape: [],
          data: new BigUint64Array(values.map((v) => BigInt(v + 50) * 2n ** 58n)),
        };
      case 'I32':
        return { dtype, shape: [], data: new Int32Array(values.map((v) => v * 40_000_000)) };
      case 'U32':
        return {
          dtype,
          shape: [],
          data: new Uint32Array(values.map((v) => (v + 50) * 90_000_000)),
        };
      case 'I16':
        return { dtype, shape: [], data: new Int16Array(values.map((v) => v * 300)) };
      case 'I8':
        return { dtype, shape: [], data: new Int8Array(values) };
      case 'BOOL':
        return { dtype, shape: [], data: new Uint8Array(values.map((v) => v & 1)) };
      case 'U8':
      case 'F8_E4M3':
      case 'F8_E5M2':
      case 'F8_E8M0':
        return { dtype, shape: [], data: new Uint8Array(values.map((v) => v & 0xff)) };
    }
  }

  function withShape(tensor: SafeTensor, shape: number[]): SafeTensor {
    return { ...tensor, shape } as SafeTensor;
  }

  it.each(DTYPES.map((dtype) => [dtype]))('%s: matrix, scalar and empty tensors', (dtype) => {
    const tensors = new Map<string, SafeTensor>([
      ['matrix', withShape(sample(dtype, 6), [2, 3])],
      ['scalar', withShape(sample(dtype, 1), [])],
      ['empty', withShape(sample(dtype, 0), [0])],
      ['empty2d', withShape(sample(dtype, 0), [4, 0, 2])],
      ['after', withShape(sample(dtype, 3), [3, 1])],
    ]);
    const encoded = encodeSafetensors(tensors, { dtype });
    const decoded = decodeSafetensors(encoded);
    expect(decoded.metadata).toEqual({ dtype });
    expect([...decoded.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, original] of tensors) {
      const copy = decoded.tensors.get(name);
      expect(copy).toBeDefined();
      expect(copy?.dtype).toBe(dtype);
      expect(copy?.shape).toEqual(original.shape);
      expect(copy?.data.constructor).toBe(original.data.constructor);
      expect(copy?.data).toEqual(original.data);
      expect(copy?.data.buffer).not.toBe(encoded.buffer);
      expect(copy?.data.byteOffset).toBe(0);
    }
  });

  it('dtypeByteSize is the width the header checks against', () => {
    expect(dtypeByteSize('F32')).toBe(4);
    expect(dtypeByteSize('BF16')).toBe(2);
    expect(dtypeByteSize('I64')).toBe(8);
    expect(dtypeByteSize('BOOL')).toBe(1);
    expect(dtypeByteSize('C64')).toBe(8);
  });

  it('narrows data by dtype', () => {
    const decoded = decodeSafetensors(
      encodeSafetensors({ x: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } }),
    );
    const tensor = decoded.tensors.get('x');
    if (tensor?.dtype === 'F32') {
      const data: Float32Array = tensor.data;
      expect(data[0]).toBe(3);
    } else {
      throw new Error('expected an F32 tensor');
    }
  });

  it('reads misaligned tensors and inputs that are views into a larger buffer', () => {
    const header = {
      odd: { dtype: 'U8', shape: [3], data_offsets: [0, 3] },
      wide: { dtype: 'F64', shape: [2], data_offsets: [3, 19] },
    };
    const data = Buffer.alloc(19);
    data.set([1, 2, 3], 0);
    data.writeDoubleLE(Math.PI, 3);
    data.writeDoubleLE(-0.25, 11);
    const file = buildFile(header, data);
    const padded = Buffer.alloc(file.byteLength + 5);
    file.copy(padded, 1);
    const decoded = decodeSafetensors(padded.subarray(1, 1 + file.byteLength));
    expect(decoded.tensors.get('odd')?.data).toEqual(new Uint8Array([1, 2, 3]));
    expect(decoded.tensors.get('wide')?.data).toEqual(new Float64Array([Math.PI, -0.25]));
  });

  it('accepts tensors listed out of offset order and returns them in offset order', () => {
    const header = {
      __metadata__: null,
      second: { dtype: 'I16', shape: [1], data_offsets: [2, 4] },
      first: { dtype: 'I16', shape: [1], data_offsets: [0, 2] },
    };
    const decoded = decodeSafetensors(buildFile(header, new Uint8Array([1, 0, 2, 0])));
    expect(decoded.metadata).toEqual({});
    expect([...decoded.tensors.keys()]).toEqual(['first', 'second']);
    expect(decoded.tensors.get('second')?.data).toEqual(new Int16Array([2]));
  });

  it('ignores extra keys in a tensor entry, as the reference does', () => {
    const header = { t: { dtype: 'U8', shape: [1], data_offsets: [0, 1], note: 'x' } };
    expect(decodeSafetensors(buildFile(header, 1)).tensors.get('t')?.shape).toEqual([1]);
  });

  it('does not let the decoded result alias the input', () => {
    const encoded = encodeSafetensors({
      t: { dtype: 'U8', shape: [2], data: new Uint8Array([5, 6]) },
    });
    const decoded = decodeSafetensors(encoded);
    encoded.fill(0);
    expect(decoded.tensors.get('t')?.data).toEqual(new Uint8Array([5, 6]));
  });
});

describe('decodeSafetensors rejects malformed input', () => {
  const good = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  it('a file shorter than the length prefix', () => {
    expectFormatError(new Uint8Array([1, 2, 3]), 'the file is 3 bytes', 'truncated');
    expectFormatError(new Uint8Array(0), 'the file is 0 bytes');
  });

  it('a header length beyond the end of the file', () => {
    const file = buildFile(good, 8);
    expectFormatError(file.subarray(0, 20), 'header length', 'runs past the end of the file');
  });

  it('a header length over the limit', () => {
    const file = Buffer.alloc(16);
    file.writeBigUInt64LE(2n ** 63n);
    expectFormatError(file, 'over the 100000000-byte limit');
  });

  it('a header that is not UTF-8', () => {
    const file = buildFile('{}      ');
    file[9] = 0xff;
    expectFormatError(file, 'not valid UTF-8');
  });

  it('an empty header or one that does not start with {', () => {
    expectFormatError(buildFile(''), 'the header is empty');
    expectFormatError(buildFile(' {}'), 'starts with " {}"');
    expectFormatError(buildFile('[1, 2]'), 'expected a JSON object');
    expectFormatError(buildFile('"x"'), 'expected a JSON object');
  });

  it('a header that is not valid JSON', () => {
    expectFormatError(buildFile('{"t": {"dtype": "F32",'), 'the header is not valid JSON');
    expectFormatError(buildFile('{} trailing'), 'not valid JSON');
  });

  it('metadata that is not an object of strings', () => {
    expectFormatError(
      buildFile({ __metadata__: ['a'] }),
      '__metadata__ must be an object of strings',
    );
    expectFormatError(buildFile({ __metadata__: 'x' }), '__metadata__ must be an object');
    const error = expectFormatError(
      buildFile({ __metadata__: { format: 'superlora', version: 1 } }),
      '__metadata__ value for "version" must be a string',
      'number 1',
    );
    expect(error.tensor).toBeUndefined();
    expectFormatError(buildFile({ __metadata__: { nested: { a: 'b' } } }), '"nested"', 'an object');
  });

  it('a tensor entry that is not an object', () => {
    const error = expectFormatError(
      buildFile({ weight: [1, 2] }),
      'tensor "weight"',
      'must be an object',
    );
    expect(error.tensor).toBe('weight');
  });

  it('unknown and unsupported dtypes', () => {
    const fileWith = (dtype: unknown): Buffer =>
      buildFile({ weight: { dtype, shape: [1], data_offsets: [0, 4] } }, 4);
    expectFormatError(fileWith('F128'), 'tensor "weight"', 'unknown dtype string "F128"', 'F32');
    expectFormatError(fileWith('f32'), 'unknown dtype string "f32"');
    expectFormatError(fileWith(4), 'unknown dtype number 4');
    expectFormatError(fileWith('F4'), 'tensor "weight"', '"F4" (packed sub-byte) is not supported');
    expectFormatError(fileWith('__proto__'), 'unknown dtype');
    expectFormatError(fileWith('toString'), 'unknown dtype');
  });

  it('missing fields', () => {
    expectFormatError(
      buildFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4),
      'tensor "w"',
      'no "dtype"',
    );
    expectFormatError(buildFile({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4), 'no "shape"');
    expectFormatError(buildFile({ w: { dtype: 'F32', shape: [1] } }, 4), 'no "data_offsets"');
  });

  it('shapes with negative, fractional or non-numeric entries', () => {
    const fileWith = (shape: unknown): Buffer =>
      buildFile({ w: { dtype: 'U8', shape, data_offsets: [0, 0] } });
    expectFormatError(
      fileWith([2, -1]),
      'tensor "w"',
      'shape an array [2,-1]',
      'non-negative integers',
    );
    expectFormatError(fileWith([1.5]), 'shape an array [1.5]');
    expectFormatError(fileWith(['2']), 'shape an array ["2"]');
    expectFormatError(fileWith(3), 'shape number 3');
    expectFormatError(fileWith([2 ** 60]), 'non-negative integers');
  });

  it('data_offsets of the wrong form', () => {
    const fileWith = (offsets: unknown): Buffer =>
      buildFile({ w: { dtype: 'U8', shape: [2], data_offsets: offsets } }, 2);
    expectFormatError(
      fileWith([0]),
      'tensor "w"',
      'data_offsets an array [0] must be [begin, end]',
    );
    expectFormatError(fileWith([0, 2, 4]), 'must be [begin, end]');
    expectFormatError(fileWith([-1, 1]), 'must be [begin, end]');
    expectFormatError(fileWith([0, 2.5]), 'must be [begin, end]');
    expectFormatError(fileWith({ begin: 0, end: 2 }), 'data_offsets an object');
    expectFormatError(fileWith([2, 0]), 'data_offsets [2, 0] end before they begin');
  });

  it('data_offsets that do not match shape × dtype size', () => {
    expectFormatError(
      buildFile({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 12] } }, 12),
      'tensor "w"',
      'data_offsets [0, 12] span 12 bytes but shape [2, 3] of F32 needs 24',
    );
    expectFormatError(
      buildFile({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 4] } }, 4),
      'shape [1] of C64 needs 8',
    );
  });

  it('shapes too large to address', () => {
    expectFormatError(
      buildFile(
        { w: { dtype: 'F64', shape: [2 ** 30, 2 ** 30, 2 ** 10], data_offsets: [0, 8] } },
        8,
      ),
      'too large to address',
    );
  });

  it('data_offsets beyond the data buffer (a truncated file)', () => {
    const file = buildFile(good, 8);
    expectFormatError(
      file.subarray(0, file.byteLength - 3),
      'tensor "t"',
      'data_offsets [0, 8] run past the end of the 5-byte data buffer',
    );
  });

  it('overlapping tensors', () => {
    const header = {
      a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
      b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] },
    };
    expectFormatError(
      buildFile(header, 6),
      'tensor "b"',
      'data_offsets [2, 6] overlap tensor "a" at [0, 4]',
    );
    const duplicate = {
      a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
      b: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
    };
    expectFormatError(buildFile(duplicate, 4), 'overlap tensor "a"');
    const emptyInside = {
      a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
      e: { dtype: 'U8', shape: [0], data_offsets: [2, 2] },
    };
    expectFormatError(buildFile(emptyInside, 4), 'tensor "e"', 'overlap tensor "a"');
  });

  it('gaps between tensors or at the start', () => {
    const between = {
      a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
      b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] },
    };
    expectFormatError(
      buildFile(between, 5),
      'tensor "b"',
      'leave a gap: bytes [2, 3) after tensor "a" belong to no tensor',
    );
    const atStart = { a: { dtype: 'U8', shape: [2], data_offsets: [4, 6] } };
    expectFormatError(buildFile(atStart, 6), 'bytes [0, 4) at the start of the data buffer');
  });

  it('trailing bytes after the last tensor', () => {
    const error = expectFormatError(
      buildFile(good, 12),
      '4 trailing bytes after the last tensor belong to no tensor',
    );
    expect(error.tensor).toBeUndefined();
    expectFormatError(buildFile({}, 1), '1 trailing bytes');
  });

  it('uses <buffer> as the source when none is given', () => {
    expect(() => decodeSafetensors(new Uint8Array(2))).toThrow(/^<buffer>: the file is 2 bytes/);
  });
});

describe('encodeSafetensors rejects bad tensors, naming them', () => {
  it('a typed array that does not match the dtype', () => {
    const bad = { w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } } as unknown as Record<
      string,
      SafeTensor
    >;
    expect(() => encodeSafetensors(bad)).toThrow(
      'Expected a Float32Array for the data of tensor "w" (dtype F32) but received a Float64Array',
    );
    const plainArray = { w: { dtype: 'I32', shape: [2], data: [1, 2] } } as unknown as Record<
      string,
      SafeTensor
    >;
    expect(() => encodeSafetensors(plainArray)).toThrow(TypeError);
    const clamped = {
      w: { dtype: 'U8', shape: [2], data: new Uint8ClampedArray(2) },
    } as unknown as Record<string, SafeTensor>;
    expect(() => encodeSafetensors(clamped)).toThrow('received a Uint8ClampedArray');
  });

  it('accepts a Buffer for U8 and Uint16Array for F16/BF16', () => {
    const encoded = encodeSafetensors({
      bytes: { dtype: 'U8', shape: [2], data: Buffer.from([1, 2]) },
      half: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      brain: { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
    });
    const decoded = decodeSafetensors(encoded);
    expect(decoded.tensors.get('half')?.data).toEqual(new Uint16Array([0x3c00]));
    expect(decoded.tensors.get('bytes')?.data).toEqual(new Uint8Array([1, 2]));
  });

  it('data whose length does not match the shape', () => {
    expect(() =>
      encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } }),
    ).toThrow('Expected 6 elements (shape [2, 3]) in the data of tensor "w" but received 5');
    expect(() =>
      encodeSafetensors({ z: { dtype: 'C64', shape: [2], data: new Float32Array(2) } }),
    ).toThrow('Expected 4 elements (shape [2] × 2 lanes) in the data of tensor "z" but received 2');
  });

  it('bad dtypes and shapes', () => {
    const badDtype = {
      w: { dtype: 'F128', shape: [1], data: new Float32Array(1) },
    } as unknown as Record<string, SafeTensor>;
    expect(() => encodeSafetensors(badDtype)).toThrow(
      'for the dtype of tensor "w" but received string "F128"',
    );
    expect(() =>
      encodeSafetensors({ w: { dtype: 'F32', shape: [-1], data: new Float32Array(1) } }),
    ).toThrow('non-negative integers for the shape of tensor "w"');
    expect(() =>
      encodeSafetensors({ w: { dtype: 'F32', shape: [0.5], data: new Float32Array(1) } }),
    ).toThrow('shape of tensor "w"');
  });

  it('the reserved name and non-string metadata', () => {
    expect(() =>
      encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } }),
    ).toThrow('"__metadata__" is reserved');
    const metadata = { version: 1 } as unknown as Record<string, string>;
    expect(() => encodeSafetensors({}, metadata)).toThrow(
      'Expected a string for metadata "version" but received number 1',
    );
  });
});

describe('files', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), 'superlora-safetensors-'));
  });

  afterEach(async () => {
    await fs.rm(directory, { recursive: true, force: true });
  });

  const tensors = new Map<string, SafeTensor>([
    ['b0.s0.core', { dtype: 'F32', shape: [1, 2, 2], data: new Float32Array([1, 2, 3, 4]) }],
    ['shuffle.perm', { dtype: 'I64', shape: [3], data: new BigInt64Array([2n, 0n, 1n]) }],
  ]);

  it('writes and reads back, leaving no temporary file', async () => {
    const file = path.join(directory, 'adapter.safetensors');
    await writeSafetensors(file, tensors, { format: 'superlora', version: '1' });
    expect(await fs.readdir(directory)).toEqual(['adapter.safetensors']);
    const bytes = await fs.readFile(file);
    expect(bytes.equals(encodeSafetensors(tensors, { format: 'superlora', version: '1' }))).toBe(
      true,
    );

    const read = await readSafetensors(file);
    expect(read.metadata).toEqual({ format: 'superlora', version: '1' });
    expect(read.tensors).toEqual(tensors);

    const header = await readSafetensorsHeader(file);
    expect(header.metadata).toEqual({ format: 'superlora', version: '1' });
    expect(header.tensors.get('shuffle.perm')).toEqual({
      dtype: 'I64',
      shape: [3],
      dataOffsets: [16, 40],
    });
    expect(header.dataStart % 8).toBe(0);
    expect(header.dataStart).toBe(bytes.byteLength - 40);
  });

  it('overwrites an existing file', async () => {
    const file = path.join(directory, 'a.safetensors');
    await fs.writeFile(file, 'old contents');
    await writeSafetensors(file, tensors);
    expect((await readSafetensors(file)).tensors.size).toBe(2);
    expect(await fs.readdir(directory)).toEqual(['a.safetensors']);
  });

  it('creates a missing parent folder (src/io/atomicWrite.ts), and nothing else', async () => {
    const file = path.join(directory, 'missing', 'a.safetensors');
    await writeSafetensors(file, tensors);
    expect(await fs.readdir(path.join(directory, 'missing'))).toEqual(['a.safetensors']);
  });

  it('rejects writing below a file, naming the path, and creates nothing', async () => {
    await fs.writeFile(path.join(directory, 'plain'), 'x');
    const file = path.join(directory, 'plain', 'a.safetensors');
    const failure = writeSafetensors(file, tensors);
    await expect(failure).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(failure).rejects.toThrow(`Cannot write ${file}`);
    expect(await fs.readdir(directory)).toEqual(['plain']);
  });

  it('leaves the existing file intact when encoding fails', async () => {
    const file = path.join(directory, 'keep.safetensors');
    await writeSafetensors(file, tensors);
    const before = await fs.readFile(file);
    const broken = new Map<string, SafeTensor>([
      ...tensors,
      ['bad', { dtype: 'F32', shape: [3], data: new Float32Array(2) }],
    ]);
    await expect(writeSafetensors(file, broken)).rejects.toThrow('tensor "bad"');
    expect((await fs.readFile(file)).equals(before)).toBe(true);
    expect(await fs.readdir(directory)).toEqual(['keep.safetensors']);
  });

  it('names the file when reading a truncated one', async () => {
    const file = path.join(directory, 'cut.safetensors');
    const full = encodeSafetensors(tensors);
    await fs.writeFile(file, full.subarray(0, full.byteLength - 1));
    const attempt = readSafetensors(file);
    await expect(attempt).rejects.toBeInstanceOf(SafetensorsFormatError);
    await expect(readSafetensors(file)).rejects.toThrow(
      `${file}: tensor "shuffle.perm": data_offsets [16, 40] run past the end of the 39-byte data buffer`,
    );
    await fs.writeFile(file, full.subarray(0, 12));
    await expect(readSafetensorsHeader(file)).rejects.toThrow(`${file}: header length`);
    await fs.writeFile(file, full.subarray(0, 5));
    await expect(readSafetensors(file)).rejects.toThrow(`${file}: the file is 5 bytes`);
  });

  it('reports trailing bytes in a file', async () => {
    const file = path.join(directory, 'long.safetensors');
    await fs.writeFile(file, Buffer.concat([encodeSafetensors(tensors), Buffer.from([0])]));
    await expect(readSafetensors(file)).rejects.toThrow('1 trailing bytes after the last tensor');
  });

  it('passes through I/O errors for a missing file', async () => {
    await expect(readSafetensors(path.join(directory, 'none.safetensors'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
