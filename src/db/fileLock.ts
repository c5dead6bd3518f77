import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { LockHeldError } from '../lib/errors.ts';

/**
 * PGlite has no data-directory lock: two processes opening the same directory corrupt it.
 * This exclusive lock file (beside the directory) keeps a second process out. It is created
 * whole and atomically (written under a private name, then hard-linked into place), and names
 * its holder by host and PID: a lock of a dead process on this host is taken over; a lock from
 * another host (another container sharing the volume) is never assumed stale.
 */
export function acquireFileLock(lockPath: string): () => void {
  mkdirSync(dirname(lockPath), { recursive: true });
  const me = `${hostname()} ${process.pid}`;
  const mine = `${lockPath}.${process.pid}.tmp`;
  writeFileSync(mine, me);
  try {
    try {
      linkSync(mine, lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      takeOverIfStale(lockPath, mine, me);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (readHolder(lockPath) === me) rmSync(lockPath, { force: true });
  };
}

function takeOverIfStale(lockPath: string, mine: string, me: string): void {
  const holder = readHolder(lockPath);
  const [host, pidText] = (holder ?? '').split(' ');
  const pid = Number(pidText);
  const sameHost = host === hostname();
  if (holder && !(sameHost && Number.isInteger(pid) && pid !== process.pid && !isAlive(pid))) {
    const hint = sameHost ? '' : ' (if no other process uses it, delete the lock file)';
    throw new LockHeldError(`the embedded database is in use by ${holder || 'another process'} (${lockPath})${hint}`);
  }
  // rename replaces atomically; if two processes race to take over, the read-back tells who won.
  renameSync(mine, lockPath);
  if (readHolder(lockPath) !== me) throw new LockHeldError(`the embedded database is in use (${lockPath})`);
}

function readHolder(lockPath: string): string | undefined {
  try {
    return readFileSync(lockPath, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
