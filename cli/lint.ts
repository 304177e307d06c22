/**
 * `polaroid lint <file|dir>...`: validate config files (directories are searched for YAML files)
 * against the default registry. Each problem is printed as `file:line:col: path: message`, then
 * a summary; the exit code is 1 when any file has a problem.
 */
import { parseArgs } from 'node:util';
import { defaultRegistry } from '../config/default-registry.ts';
import { formatIssues, lintExitCode, lintFiles } from '../config/lint.ts';
import { type CliIo, UsageError } from './io.ts';

export async function lintCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length === 0) throw new UsageError('lint needs at least one config file or folder');
  const results = lintFiles(positionals, defaultRegistry(), io.env);
  if (results.length === 0) throw new UsageError(`no .yaml files found in ${positionals.join(', ')}`);
  const code = lintExitCode(results);
  (code === 0 ? io.stderr : io.stdout).write(`${formatIssues(results)}\n`);
  return code;
}
