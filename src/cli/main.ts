import { readFileSync } from 'node:fs';
import { AppError, errorMessage } from '../lib/errors.ts';
import { printableText } from '../lib/printable.ts';
import { redactText } from '../lib/redact.ts';
import type { Command } from './command.ts';
import type { CliContext } from './context.ts';

export interface MainOptions extends Omit<CliContext, 'signal'> {
  commands: Command[];
}

/** Dispatches a command and turns every outcome into an exit code; nothing here calls process.exit. */
export async function main(argv: string[], options: MainOptions): Promise<number> {
  const [name, ...args] = argv;
  const command = options.commands.find((c) => c.name === name);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    options.stdout.write(usage(options.commands));
    return name ? 0 : 2;
  }
  if (VERSION_WORDS.includes(name)) {
    options.stdout.write(`metaaccess-sync ${packageVersion()}\n`);
    return 0;
  }
  if (!command) {
    options.stderr.write(`metaaccess-sync: unknown command "${name}"\n\n${usage(options.commands)}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    options.stdout.write(command.help);
    return 0;
  }
  const controller = new AbortController();
  const stop = stopOnSignals(controller, options.stderr, command.stopNotice?.bind(command));
  try {
    return await command.run(args, { ...options, signal: controller.signal });
  } catch (err) {
    const code = err instanceof AppError ? err.exitCode : 1;
    const label = err instanceof AppError && err.code === 'CONFIG_INVALID' ? 'configuration error' : 'error';
    // errorMessage: a failed query reads as PostgreSQL's words (e.g. permission denied, SQLSTATE 42501), not drizzle's SQL dump.
    const text = printableText(redactText(errorMessage(err)), 2_000, { keepNewlines: true });
    options.stderr.write(`metaaccess-sync ${command.name}: ${label}: ${text}\n`);
    return code;
  } finally {
    stop();
  }
}

/**
 * First SIGINT/SIGTERM asks the command to stop (a sync: once the pages it holds are stored); a second one
 * exits at once. The command's own notice, when it has one, says what stopping means for it.
 */
function stopOnSignals(
  controller: AbortController,
  stderr: NodeJS.WritableStream,
  notice?: (signal: NodeJS.Signals) => string | undefined,
): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      stderr.write(`metaaccess-sync: second ${signal}, exiting now\n`);
      // 128 + the signal's number, as a shell reports a process the signal ended.
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    const text = notice?.(signal) ?? `${signal} received, stopping once the pages received are stored (again to exit now)`;
    stderr.write(`metaaccess-sync: ${text}\n`);
    controller.abort(Object.assign(new Error(`received ${signal}`), { signal }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

const VERSION_WORDS = ['--version', '-v', '-V', 'version'];

/**
 * The version in package.json, two folders up from this module: src/cli/ under tsx and vitest,
 * dist/cli/ when built, and /app/dist/cli/ in the image (the Dockerfile copies package.json to /app).
 */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function usage(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: metaaccess-sync <command> [options]

Syncs every OPSWAT MetaAccess device into PostgreSQL within the API rate limit.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`metaaccess-sync <command> --help\` for a command's options.
  --version, -v, -V, version   print the version and exit

Configuration comes from environment variables (and a .env file); see README.md.
\`metaaccess-sync check\` shows what it is set to, and tries the database and the API.
`;
}
