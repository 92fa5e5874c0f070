/**
 * A parser for exactly the JSON the dataset packages ship: `{ "data": [numbers…] }` or
 * `{ "data": [[numbers…], …] }`. It reads the bytes straight into pixels. `JSON.parse` on the same
 * files costs about three times as long (Fashion-MNIST is 150 MB of text) and builds millions of
 * JS numbers only to throw them away. Anything outside that grammar, including negative numbers and
 * exponents, which no pixel is written with, is a {@link DatasetFormatError} naming the byte offset.
 */
import { DatasetFormatError } from './datasetErrors';

/** How the numbers encode pixels: `unit` = pixel/255 as a decimal, `byte` = the integer 0–255. */
export type PixelScale = 'unit' | 'byte';

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

// Module-level copies: a global lookup in the hot loop is slow when the code runs in a vm context
// (jest), where globals sit behind an interceptor (10× slower measured).
const round = Math.round;
const abs = Math.abs;

/**
 * The images in a class file, concatenated, `pixelsPerImage` bytes each. A flat array is cut into
 * images; in an array of arrays each inner array is one image, and empty ones are skipped (stray
 * separators: fashion-mnist's class 0 has two).
 *
 * One loop with every piece of state in locals: V8 keeps them in registers, which a parser built
 * from small closures over shared state (tried first) does not, at twice the cost.
 */
export function parsePixelJson(
  text: Uint8Array,
  scale: PixelScale,
  pixelsPerImage: number,
  where: string,
): Uint8Array {
  // Every number takes at least two bytes with its separator, which bounds the output.
  const out = new Uint8Array((text.length >>> 1) + 1);
  let written = 0;
  const length = text.length;

  let at = skipSpace(text, 0);
  at = expectByte(text, at, OPEN_BRACE, '{', where);
  at = skipSpace(text, at);
  const key = '"data"';
  for (let i = 0; i < key.length; i++, at++) {
    if (text[at] !== key.charCodeAt(i)) fail(where, at, 'expected the key "data"');
  }
  at = expectByte(text, skipSpace(text, at), COLON, ':', where);
  at = expectByte(text, skipSpace(text, at), OPEN_BRACKET, '[', where);

  const unit = scale === 'unit';
  // Which layout the first element chose: 0 undecided, 1 flat numbers, 2 arrays of numbers.
  let layout = 0;
  let depth = 1;
  // What may come next: 0 a value or a closing bracket (just opened), 1 a value (after a comma),
  // 2 a comma or a closing bracket (after a value).
  let next = 0;
  let imageStart = 0;
  let images = 0;
  let done = false;
  while (at < length) {
    const c = text[at] as number;
    if (c >= ZERO && c <= NINE) {
      if (next === 2) fail(where, at, 'expected , or ]');
      if (depth === 1) {
        if (layout === 2) fail(where, at, 'expected [ (an image)');
        layout = 1;
      }
      const start = at;
      let value = 0;
      let denominator = 1;
      let d = c;
      while (d >= ZERO && d <= NINE) {
        value = value * 10 + (d - ZERO);
        d = text[++at] ?? 0;
      }
      if (d === DOT) {
        d = text[++at] ?? 0;
        while (d >= ZERO && d <= NINE) {
          value = value * 10 + (d - ZERO);
          denominator *= 10;
          d = text[++at] ?? 0;
        }
        if (denominator === 1) fail(where, at, 'expected digits after the decimal point');
      }
      let byte: number;
      if (!unit) {
        if (denominator !== 1 || value > 255) fail(where, start, 'expected an integer pixel 0–255');
        byte = value;
      } else {
        if (denominator > 1e9 || value > denominator) {
          fail(where, start, 'expected pixel/255 in [0, 1] with at most 9 decimals');
        }
        // value/denominator is the decimal exactly (both are exact integers in a double).
        byte = round((value * 255) / denominator);
        // Three-decimal rounding moves pixel/255 by ≤ 0.0005, i.e. ≤ 0.1275 of a grey level; a
        // value further from every k/255 was not written as pixel/255, and rounding it would
        // hide that.
        if (abs(byte * denominator - value * 255) > 0.1275 * denominator + 1e-6) {
          fail(where, start, 'expected pixel/255 with 3 decimals');
        }
      }
      out[written++] = byte;
      next = 2;
      continue;
    }
    if (c === COMMA) {
      if (next !== 2) fail(where, at, 'expected a value');
      next = 1;
    } else if (c === OPEN_BRACKET) {
      if (depth !== 1 || next === 2 || layout === 1) fail(where, at, 'expected a number');
      layout = 2;
      depth = 2;
      next = 0;
      imageStart = written;
    } else if (c === CLOSE_BRACKET) {
      if (next === 1) fail(where, at, 'expected a value after ,');
      if (depth === 2) {
        const pixels = written - imageStart;
        if (pixels !== 0 && pixels !== pixelsPerImage) {
          fail(
            where,
            at,
            `expected ${pixelsPerImage} pixels in image ${images} but found ${pixels}`,
          );
        }
        if (pixels !== 0) images++;
        depth = 1;
        next = 2;
      } else {
        at++;
        done = true;
        break;
      }
    } else if (c !== SPACE && c !== LF && c !== CR && c !== TAB) {
      fail(where, at, 'unexpected character');
    }
    at++;
  }
  if (!done) fail(where, at, 'unexpected end of file');
  if (written % pixelsPerImage !== 0) {
    fail(where, at, `expected a multiple of ${pixelsPerImage} values but found ${written}`);
  }
  at = expectByte(text, skipSpace(text, at), CLOSE_BRACE, '}', where);
  if (skipSpace(text, at) !== length) fail(where, at, 'expected the end of the file');
  return out.slice(0, written);
}

function fail(where: string, at: number, problem: string): never {
  throw new DatasetFormatError(where, `${problem} at byte ${at}`);
}

function skipSpace(text: Uint8Array, at: number): number {
  for (;;) {
    const c = text[at];
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return at;
    at++;
  }
}

function expectByte(
  text: Uint8Array,
  at: number,
  byte: number,
  what: string,
  where: string,
): number {
  if (text[at] !== byte) fail(where, at, `expected ${what}`);
  return at + 1;
}
