/**
 * `polaroid lint <file>...`: validate config files against the default registry. Each problem is
 * printed as `file:line:col: path: message`; the exit code is 1 when any file has one.
 */
import { parseArgs } from 'node:util';
import { defaultRegistry } from '../config/default-registry.ts';
import { ConfigError, type ConfigIssue, formatIssues } from '../config/issues.ts';
import { loadConfig } from '../config/load.ts';
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.ts';

export async function lintCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length === 0) throw new UsageError('lint needs at least one config file');
  const registry = defaultRegistry();
  const issues: ConfigIssue[] = [];
  let failedFiles = 0;
  for (const file of positionals) {
    try {
      loadConfig(file, registry, io.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      failedFiles++;
      issues.push(...err.issues);
    }
  }
  if (issues.length > 0) {
    io.stdout.write(`${formatIssues(issues)}\n`);
    const noun = issues.length === 1 ? 'problem' : 'problems';
    io.stderr.write(`${issues.length} ${noun} in ${failedFiles} of ${positionals.length} files\n`);
    return EXIT_FAILURE;
  }
  io.stderr.write(`${positionals.length} ${positionals.length === 1 ? 'file' : 'files'} OK\n`);
  return EXIT_OK;
}
