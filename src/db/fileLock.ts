import { lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError, LockHeldError, LockLostError } from '../lib/errors.ts';

/**
 * PGlite has no data-directory lock: two processes opening the same directory corrupt it. This
 * lock keeps a second process out. It is proper-lockfile's heartbeat lock: a directory created
 * atomically (mkdir), whose mtime the holder refreshes every `updateMs`; a lock not refreshed for
 * `staleMs` is taken over. Liveness is judged by the heartbeat, not by host name and PID: in a
 * container every process is PID 1 on the same host name, so a dead holder looks alive (and a
 * reused PID makes an unrelated process look like the holder).
 */
export interface FileLockOptions {
  /** A lock not refreshed for this long is taken over (ms; proper-lockfile's floor is 2000). */
  staleMs?: number;
  /** Heartbeat period (ms; proper-lockfile keeps it within 1000..staleMs/2). */
  updateMs?: number;
  /** How long to wait for a held lock to be released or go stale before giving up (ms). */
  waitMs?: number;
}

export interface FileLock {
  path: string;
  /** Aborted (with a LockLostError) when the heartbeat finds the lock gone or taken over. */
  lost: AbortSignal;
  /** Removes the lock if still ours; never throws. */
  release(): Promise<void>;
}

const FILE_LOCK_DEFAULTS = { staleMs: 10_000, updateMs: 2_000 } as const;
const RETRY_EVERY_MS = 1_000;

/**
 * Takes the lock, waiting up to about one stale period for a holder that died without releasing
 * it (SIGKILL, OOM) to go stale. Throws LockHeldError (exit 3) if the holder is still alive.
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<FileLock> {
  const staleMs = options.staleMs ?? FILE_LOCK_DEFAULTS.staleMs;
  const updateMs = options.updateMs ?? Math.min(FILE_LOCK_DEFAULTS.updateMs, staleMs / 2);
  // One heartbeat of slack beyond the stale period: the holder's last refresh may be that recent.
  const waitMs = options.waitMs ?? staleMs + RETRY_EVERY_MS;
  const retries = Math.ceil(waitMs / RETRY_EVERY_MS);
  mkdirSync(dirname(lockPath), { recursive: true });
  removeOldFormatLock(lockPath);
  const controller = new AbortController();
  // Loaded only for PGlite: proper-lockfile installs exit and signal hooks (signal-exit) when loaded.
  const { default: lockfile } = await import('proper-lockfile');
  let unlock: () => Promise<void>;
  try {
    unlock = await lockfile.lock(lockPath, {
      lockfilePath: lockPath,
      realpath: false,
      stale: staleMs,
      update: updateMs,
      retries: { retries, factor: 1, minTimeout: RETRY_EVERY_MS, maxTimeout: RETRY_EVERY_MS },
      // The default handler throws from a timer, which would crash the process: tell the run instead.
      onCompromised: (err) => {
        const reason = `the embedded database's lock ${lockPath} was lost (${err.message}); another process may have opened the database`;
        controller.abort(new LockLostError(reason, err));
      },
    });
  } catch (err) {
    throw lockFailure(lockPath, staleMs, err);
  }
  let released = false;
  return {
    path: lockPath,
    lost: controller.signal,
    release: async () => {
      if (released) return;
      released = true;
      // Rejects when the lock was compromised; then it is someone else's and must stay.
      await unlock().catch(() => undefined);
    },
  };
}

function lockFailure(lockPath: string, staleMs: number, err: unknown): AppError {
  if ((err as { code?: unknown }).code !== 'ELOCKED') {
    return new AppError('DB_OPEN_FAILED', `cannot lock the embedded database (${lockPath}): ${(err as Error).message}`, { cause: err });
  }
  const age = heartbeatAge(lockPath);
  const seen = age === undefined ? '' : `, last refreshed ${(age / 1000).toFixed(1)} s ago`;
  return new LockHeldError(
    `the embedded database is in use by another process (lock ${lockPath}${seen}; a lock not refreshed for ${staleMs / 1000} s is taken over)`,
  );
}

function heartbeatAge(lockPath: string): number | undefined {
  try {
    return Math.max(0, Date.now() - statSync(lockPath).mtimeMs);
  } catch {
    return undefined;
  }
}

/**
 * Earlier versions wrote a plain file "host pid" at this path and never refreshed it, so nothing
 * tells whether its writer lives; kept, it would block every start (the bug this lock replaces).
 * It is removed. A new-format lock is a directory, which an old version cannot take over either.
 */
function removeOldFormatLock(lockPath: string): void {
  try {
    if (lstatSync(lockPath).isFile()) unlinkSync(lockPath);
  } catch {
    // Gone already, or replaced by a directory (a new-format lock) in between: nothing to remove.
  }
}
