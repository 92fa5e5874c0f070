/**
 * Runs the CLI as a user does: `node bin/superlora.js …` on the compiled package (`npm test`
 * builds dist/ first), in a given folder. A non-zero exit is a result to check, not a throw.
 */
import { execFile } from 'child_process';
import { join } from 'path';
import { promisify } from 'util';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const BIN = join(__dirname, '..', 'bin', 'superlora.js');

const run = promisify(execFile);

/**
 * A runner for the CLI with `cwd` as its working folder, and `env` added to the environment (Jest's
 * `process.env` is its own copy: a child would not see changes made to it).
 */
export function cliIn(
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): (...args: string[]) => Promise<CliResult> {
  return async (...args) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
        cwd,
        env: { ...process.env, ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as CliResult;
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
}
