/**
 * A separate process that takes the embedded database's lock file and holds it until killed, for
 * tests of what another process (or a restarted container's PID 1) sees. One JSON line per event.
 * Usage: node --import tsx test/helpers/fileLockHolder.ts <lockPath> '<FileLockOptions as JSON>'
 */
import { readlinkSync } from 'node:fs';
import { acquireFileLock, type FileLockOptions } from '../../src/db/fileLock.ts';
import { errorCode, errorMessage } from '../../src/lib/errors.ts';

const [lockPath, optionsJson] = process.argv.slice(2);
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
// In a new PID namespace process.pid is 1; /proc (the host's) still names the process as the host sees it.
const hostPid = Number(readlinkSync('/proc/self'));
const started = Date.now();

try {
  const lock = await acquireFileLock(lockPath!, JSON.parse(optionsJson ?? '{}') as FileLockOptions);
  say({ event: 'locked', pid: process.pid, hostPid, waitedMs: Date.now() - started });
  lock.lost.addEventListener('abort', () => say({ event: 'lost', code: errorCode(lock.lost.reason) }));
  setInterval(() => undefined, 60_000);
} catch (err) {
  say({ event: 'refused', pid: process.pid, code: errorCode(err), message: errorMessage(err), waitedMs: Date.now() - started });
  process.exitCode = 3;
}
