/**
 * JSON text as files hold it, parsed with errors a user can act on. `JSON.parse`'s own messages
 * quote the text around the fault, newlines included (a three-line error for a one-line fault), and
 * most V8 versions give no position; a leading UTF-8 byte order mark, which editors on Windows
 * write, is refused as an invisible "unexpected token". Here the mark is dropped, and a syntax
 * error is one line: what was found, and at which line and column.
 */

/** Text that is not JSON; the message is one line: the fault and its line and column. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    /** 1-based, counted in UTF-16 code units as editors do for the BMP. */
    readonly line: number,
    readonly column: number,
    problem: string,
  ) {
    super(`${problem} at line ${line}, column ${column}`);
  }
}

const BYTE_ORDER_MARK = '\uFEFF';

/** `text` parsed as JSON after dropping a leading byte order mark; see {@link JsonSyntaxError}. */
export function parseJsonText(text: string): unknown {
  const body = text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (error) {
    const offset = syntaxErrorOffset(body);
    // The scanner follows RFC 8259 as JSON.parse does; should they ever disagree, V8's own
    // message, on one line, is still better than none.
    if (offset === null) {
      throw new Error((error as Error).message.replace(/\s+/g, ' '), { cause: error });
    }
    throw syntaxErrorAt(body, offset);
  }
}

/** The error for a fault at `offset`: the character found there, or the end of the text. */
function syntaxErrorAt(text: string, offset: number): JsonSyntaxError {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  const problem =
    offset >= text.length ? 'unexpected end of the text' : `unexpected ${showChar(text, offset)}`;
  return new JsonSyntaxError(line, column, problem);
}

/** The character at `offset`, quoted when printable, else as U+XXXX so that nothing is invisible. */
function showChar(text: string, offset: number): string {
  const code = text.codePointAt(offset) as number;
  if (code >= 0x21 && code <= 0x7e) return JSON.stringify(String.fromCodePoint(code));
  return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Where scanning must stop: thrown inside the scanner, caught in {@link syntaxErrorOffset}. */
class Stop {
  constructor(readonly offset: number) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/**
 * A string up to its closing quote, or as far as it is valid (the fault is where it ends). JSON
 * forbids raw control characters in strings, so the pattern has to name them.
 */
// eslint-disable-next-line no-control-regex
const STRING_PREFIX = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;

/** The offset of the first syntax error in `text` (RFC 8259), or null when it is valid JSON. */
function syntaxErrorOffset(text: string): number | null {
  const scanner = new JsonScanner(text);
  try {
    scanner.value();
    scanner.space();
    if (scanner.at < text.length) throw new Stop(scanner.at);
    return null;
  } catch (stop) {
    if (stop instanceof Stop) return stop.offset;
    throw stop;
  }
}

/** A recursive-descent reader that only locates the fault: JSON.parse builds the value. */
class JsonScanner {
  at = 0;
  constructor(private readonly text: string) {}

  space(): void {
    while (' \t\n\r'.includes(this.text[this.at] ?? '!')) this.at++;
  }

  value(): void {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.members('}', () => this.member());
    if (c === '[') return this.members(']', () => this.value());
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.pattern(NUMBER);
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return;
      }
    }
    throw new Stop(this.at);
  }

  /** `{` or `[` (at this.at), items separated by commas, then `close`. */
  private members(close: string, item: () => void): void {
    this.at++;
    this.space();
    if (this.text[this.at] === close) {
      this.at++;
      return;
    }
    for (;;) {
      item();
      this.space();
      const c = this.text[this.at];
      if (c === close) {
        this.at++;
        return;
      }
      if (c !== ',') throw new Stop(this.at);
      this.at++;
    }
  }

  private member(): void {
    this.space();
    if (this.text[this.at] !== '"') throw new Stop(this.at);
    this.string();
    this.space();
    if (this.text[this.at] !== ':') throw new Stop(this.at);
    this.at++;
    this.value();
  }

  private string(): void {
    this.pattern(STRING_PREFIX);
    if (this.text[this.at] !== '"') throw new Stop(this.at);
    this.at++;
  }

  private pattern(pattern: RegExp): void {
    pattern.lastIndex = this.at;
    const match = pattern.exec(this.text);
    if (match === null) throw new Stop(this.at);
    this.at += match[0].length;
    // A number must not run on into more of itself ("01", "1.", "1e"): the fault is there.
    if (pattern === NUMBER && /[\d.eE+-]/.test(this.text[this.at] ?? '')) throw new Stop(this.at);
  }
}
