/** The byte-level parser for the dataset packages' JSON, on small hand-written inputs. */
import { DatasetFormatError } from '../../src/data/datasetErrors';
import { parsePixelJson } from '../../src/data/parsePixelJson';

const parse = (text: string, scale: 'unit' | 'byte', pixels = 2) =>
  Array.from(parsePixelJson(Buffer.from(text), scale, pixels, 'f.json'));

describe('parsePixelJson', () => {
  it('reads flat and nested layouts, skipping empty images', () => {
    expect(parse('{"data":[0,255,7,1]}', 'byte')).toEqual([0, 255, 7, 1]);
    expect(parse(' { "data" : [ [0, 255] , [], [3,4] ] } \n', 'byte')).toEqual([0, 255, 3, 4]);
    expect(parse('{"data":[]}', 'byte')).toEqual([]);
  });

  it('turns pixel/255 decimals back into the bytes they came from', () => {
    const bytes = Array.from({ length: 256 }, (_, byte) => byte);
    const text = `{"data":[${bytes.map((byte) => Number((byte / 255).toFixed(3))).join(',')}]}`;
    expect(parse(text, 'unit', 256)).toEqual(bytes);
    expect(parse('{"data":[1,0.2]}', 'unit')).toEqual([255, 51]);
  });

  it('rejects anything else, naming the file and the byte', () => {
    const bad: [string, 'unit' | 'byte', RegExp][] = [
      ['{"data":[256,0]}', 'byte', /integer pixel 0–255 at byte 9/],
      ['{"data":[1.5,0]}', 'byte', /integer pixel/],
      ['{"data":[-1,0]}', 'byte', /unexpected character at byte 9/],
      ['{"data":[1e2,0]}', 'byte', /unexpected character/],
      ['{"data":[0.5,0]}', 'unit', /pixel\/255 with 3 decimals/],
      ['{"data":[1.2,0]}', 'unit', /pixel\/255 in \[0, 1\]/],
      ['{"data":[1,2,3]}', 'byte', /multiple of 2/],
      ['{"data":[[1,2,3]]}', 'byte', /expected 2 pixels in image 0 but found 3/],
      ['{"data":[[1,2],3,4]}', 'byte', /expected \[/],
      ['{"data":[1,2,[3,4]]}', 'byte', /expected a number/],
      ['{"data":[1,,2]}', 'byte', /expected a value/],
      ['{"data":[1,2,]}', 'byte', /expected a value after ,/],
      ['{"data":[1 2]}', 'byte', /expected , or \]/],
      ['{"data":[1,2]', 'byte', /expected }/],
      ['{"data":[1,2', 'byte', /unexpected end of file/],
      ['{"pixels":[1,2]}', 'byte', /the key "data"/],
      ['{"data":[1,2]} x', 'byte', /end of the file/],
    ];
    for (const [text, scale, message] of bad) {
      expect(() => parse(text, scale)).toThrow(DatasetFormatError);
      expect(() => parse(text, scale)).toThrow(message);
      expect(() => parse(text, scale)).toThrow(/^f\.json: /);
    }
  });
});
