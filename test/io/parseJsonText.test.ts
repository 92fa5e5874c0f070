/**
 * JSON text from files: a leading byte order mark is dropped, and every syntax error is one line
 * naming what was found and where, agreeing with JSON.parse on what is valid.
 */
import { JsonSyntaxError, parseJsonText } from '../../src/io/parseJsonText';

/** The error parseJsonText throws for `text` (fails the test when it parses). */
function errorOf(text: string): Error {
  try {
    parseJsonText(text);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseJsonText', () => {
  test('parses what JSON.parse parses, and drops a leading UTF-8 byte order mark', () => {
    for (const text of [
      '{"order": 2, "rank": [4, "full"]}',
      ' [1, -2.5e3, true, null] ',
      '"\\u00e9"',
    ]) {
      expect(parseJsonText(text)).toEqual(JSON.parse(text));
    }
    expect(parseJsonText('\uFEFF{"order":2}')).toEqual({ order: 2 });
  });

  test.each([
    ['garbage\n{ "a": 1,\n  oops\n}\n', 'unexpected "g" at line 1, column 1'],
    ['{\n  "a": 1,\n  oops\n}\n', 'unexpected "o" at line 3, column 3'],
    ['{"a": 1,}', 'unexpected "}" at line 1, column 9'],
    ['{"a": 1', 'unexpected end of the text at line 1, column 8'],
    ['', 'unexpected end of the text at line 1, column 1'],
    ['[1, 2] [3]', 'unexpected "[" at line 1, column 8'],
    ['{"a": 01}', 'unexpected "1" at line 1, column 8'],
    ['{"a": "x\ny"}', 'unexpected character U+000A at line 1, column 9'],
    ['{"a": "\\q"}', 'unexpected "\\\\" at line 1, column 8'],
    ['{"a": tru}', 'unexpected "t" at line 1, column 7'],
    ['\uFEFF\uFEFF{}', 'unexpected character U+FEFF at line 1, column 1'],
  ])('%j: one line, naming the fault and its position', (text, message) => {
    const error = errorOf(text);
    expect(error).toBeInstanceOf(JsonSyntaxError);
    expect(error.message).toBe(message);
    expect(error.message).not.toMatch(/\n/);
  });

  test('agrees with JSON.parse on every one-character edit of a config', () => {
    // Deleting, or replacing with one of these, each character of a valid text: JSON.parse and the
    // scanner that locates faults must agree on validity, or an error would fall back to V8's text.
    const text = '{\n  "order": 3,\n  "rank": [8, "full"],\n  "scale": -1.5e-2,\n  "x": null\n}';
    const alphabet = ['', ' ', '"', ',', ':', '{', '}', '[', ']', '0', '-', '.', 'e', 't', '\\'];
    for (let i = 0; i < text.length; i++) {
      for (const c of alphabet) {
        const edited = text.slice(0, i) + c + text.slice(i + 1);
        let valid = true;
        try {
          JSON.parse(edited);
        } catch {
          valid = false;
        }
        if (valid) expect(parseJsonText(edited)).toEqual(JSON.parse(edited));
        else expect(errorOf(edited)).toBeInstanceOf(JsonSyntaxError);
      }
    }
  });
});
