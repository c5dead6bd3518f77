import type { CliContext } from './context.ts';

export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  help: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}
