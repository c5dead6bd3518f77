#!/usr/bin/env node
import { checkCommand } from './cli/checkCommand.ts';
import { demoCommand } from './cli/demoCommand.ts';
import { main } from './cli/main.ts';
import { migrateCommand } from './cli/migrateCommand.ts';
import { pruneCommand } from './cli/pruneCommand.ts';
import { reportCommand } from './cli/reportCommand.ts';
import { runsCommand } from './cli/runsCommand.ts';
import { scheduleCommand } from './cli/scheduleCommand.ts';
import { simulateCommand } from './cli/simulateCommand.ts';
import { syncCommand } from './cli/syncCommand.ts';

process.exitCode = await main(process.argv.slice(2), {
  commands: [
    migrateCommand,
    syncCommand,
    scheduleCommand,
    checkCommand,
    runsCommand,
    reportCommand,
    pruneCommand,
    demoCommand,
    simulateCommand,
  ],
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  isTty: Boolean(process.stderr.isTTY),
});

// The work is done and the exit code set. A socket that a dead or silent server never closes must
// not hold the process open for minutes after it (the stop of `schedule` included).
setTimeout(() => process.exit(), 3_000).unref();
