import { readFile } from 'fs/promises';
import { parseJsonText } from '../io/parseJsonText';
import { CliUsageError } from './errors';

/**
 * Reads a JSON file named by a flag; the error names the flag and the file, on one line with the
 * fault's line and column (parseJsonText), since the CLI prints one line per error.
 */
export async function readJsonFile(path: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`Cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
  try {
    return parseJsonText(text);
  } catch (error) {
    throw new CliUsageError(`${flag} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}
