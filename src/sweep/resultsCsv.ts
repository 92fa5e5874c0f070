/** `results.csv` (RFC 4180: cells with commas, quotes or newlines are quoted, quotes doubled). */
import { SweepFormatError } from './sweepErrors';
import { checkResult, CSV_COLUMNS, type SweepResult } from './results';

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatResultsCsv(results: readonly SweepResult[]): string {
  const rows = results.map((r) =>
    [
      r.name,
      r.family,
      JSON.stringify(r.config),
      String(r.adapterParams),
      String(r.headParams),
      r.accuracy === null ? '' : String(r.accuracy),
      r.validationAccuracy === null ? '' : String(r.validationAccuracy),
      r.wallSeconds.toFixed(3),
      r.trainSeconds.toFixed(3),
      String(r.steps),
      r.engine,
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

/** Splits CSV text into records of cells. */
function parseCsvRecords(text: string, source: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (char === '"') quoted = false;
      else cell += char;
      i += 1;
      continue;
    }
    if (char === '"' && cell === '') quoted = true;
    else if (char === ',') {
      record.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
    } else cell += char;
    i += 1;
  }
  if (quoted) throw new SweepFormatError(`${source}: a quoted cell is not closed`);
  if (cell !== '' || record.length > 0) {
    record.push(cell);
    records.push(record);
  }
  return records;
}

/** Reads back what {@link formatResultsCsv} wrote (without `settings`, which the CSV omits). */
export function parseResultsCsv(text: string, source: string): SweepResult[] {
  const [header, ...rows] = parseCsvRecords(text, source);
  if (header === undefined || header.join(',') !== CSV_COLUMNS.join(',')) {
    throw new SweepFormatError(
      `${source}: expected the header ${CSV_COLUMNS.join(',')} but received ${JSON.stringify(header?.join(',') ?? '')}`,
    );
  }
  return rows.map((cells, index) => {
    const where = `${source} row ${index + 2}`;
    if (cells.length !== CSV_COLUMNS.length) {
      throw new SweepFormatError(
        `${where}: expected ${CSV_COLUMNS.length} cells but received ${cells.length}`,
      );
    }
    const cell = (k: number): string => cells[k] as string;
    let config: unknown;
    try {
      config = JSON.parse(cell(2));
    } catch {
      throw new SweepFormatError(`${where}: the config cell is not valid JSON`);
    }
    return checkResult(
      {
        name: cell(0),
        family: cell(1),
        config,
        adapterParams: Number(cell(3)),
        headParams: Number(cell(4)),
        accuracy: cell(5) === '' ? null : Number(cell(5)),
        validationAccuracy: cell(6) === '' ? null : Number(cell(6)),
        wallSeconds: Number(cell(7)),
        trainSeconds: Number(cell(8)),
        steps: Number(cell(9)),
        engine: cell(10),
      },
      where,
    );
  });
}
