/**
 * The check that an output flag does not name one of the command's own inputs: `delta RUN --out
 * RUN/adapter.safetensors` or `merge --out` a link to `--model` would replace what was just read
 * (an atomic write makes the loss complete, not partial), and exit 0.
 */
import { readdir, stat } from 'fs/promises';
import { join } from 'path';
import { CliUsageError } from './errors';

/** A path a command reads, file or folder, and the flag or argument that named it. */
export interface CommandInput {
  flag: string;
  path: string;
}

/**
 * Device and inode of an existing path (links followed), which names the file whatever path,
 * symbolic link or hard link leads to it; undefined when nothing is there.
 */
async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    const stats = await stat(path);
    return `${stats.dev}:${stats.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The identities of an input and, for a folder, of the entries directly in it: a run folder, a
 * model folder and a PEFT folder are read through the files they hold.
 */
async function inputIdentities(input: CommandInput): Promise<Map<string, string>> {
  const identities = new Map<string, string>();
  const own = await fileIdentity(input.path);
  if (own === undefined) return identities;
  identities.set(own, input.path);
  let entries: string[];
  try {
    entries = await readdir(input.path);
  } catch {
    return identities; // a file, not a folder
  }
  for (const entry of entries) {
    const path = join(input.path, entry);
    const identity = await fileIdentity(path);
    if (identity !== undefined) identities.set(identity, path);
  }
  return identities;
}

/**
 * Throws a CliUsageError when one of the files a command is about to write (`outputs`, named by
 * `outFlag`) already exists as one of its `inputs` or as a file directly inside an input folder.
 */
export async function refuseOverwritingInputs(
  outFlag: string,
  outputs: readonly string[],
  inputs: readonly CommandInput[],
): Promise<void> {
  const existing: [string, string][] = [];
  for (const output of outputs) {
    const identity = await fileIdentity(output);
    if (identity !== undefined) existing.push([output, identity]);
  }
  // A new output cannot be an input: the inputs' folders are listed only when something exists.
  if (existing.length === 0) return;
  for (const input of inputs) {
    const identities = await inputIdentities(input);
    for (const [output, identity] of existing) {
      const read = identities.get(identity);
      if (read === undefined) continue;
      const through = read === input.path ? '' : ` (in ${input.path})`;
      throw new CliUsageError(
        `Expected ${outFlag} to leave the inputs alone, but writing ${output} would overwrite ${read}${through}, which ${input.flag} reads`,
      );
    }
  }
}
