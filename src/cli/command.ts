import type { CliContext } from './context.ts';

export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  help: string;
  run(args: string[], ctx: CliContext): Promise<number>;
  /**
   * What a first SIGINT/SIGTERM means for this command, printed after "metaaccess-sync: ".
   * Undefined (or no function) keeps main's generic line about storing the pages received.
   */
  stopNotice?: (signal: NodeJS.Signals) => string | undefined;
}
