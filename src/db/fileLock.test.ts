import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LockHeldError, LockLostError } from '../lib/errors.ts';
import { acquireFileLock, type FileLock, type FileLockOptions } from './fileLock.ts';

const HOLDER = fileURLToPath(new URL('../../test/helpers/fileLockHolder.ts', import.meta.url));
const FAST = { staleMs: 2_000, updateMs: 1_000 } satisfies FileLockOptions;
const canUnsharePid = spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;

type Holder = ChildProcessByStdio<null, Readable, null>;
interface HolderEvent {
  event: 'locked' | 'refused' | 'lost';
  pid: number;
  hostPid: number;
  code?: string;
  message?: string;
  waitedMs: number;
}

const children: Holder[] = [];
const locks: FileLock[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const lock of locks.splice(0)) await lock.release();
});

const lockPath = () => join(mkdtempSync(join(tmpdir(), 'lock-')), 'pglite.lock');

async function acquire(path: string, options: FileLockOptions): Promise<FileLock> {
  const lock = await acquireFileLock(path, options);
  locks.push(lock);
  return lock;
}

/** Another process holding (or trying to take) the lock; `pidNamespace` makes it PID 1, as in a container. */
function startHolder(path: string, options: FileLockOptions, pidNamespace = false): Holder {
  const node = [process.execPath, '--import', 'tsx', HOLDER, path, JSON.stringify(options)];
  // --kill-child: killing unshare (as afterEach does) must take the namespace's PID 1 with it.
  const [command, ...args] = pidNamespace ? ['unshare', '--pid', '--fork', '--kill-child', ...node] : node;
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function nextEvent(child: Holder, timeoutMs = 30_000): Promise<HolderEvent> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the lock holder said nothing')), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      child.stdout.off('data', onData);
      clearTimeout(timer);
      resolve(JSON.parse(buffered.slice(0, newline)) as HolderEvent);
    };
    child.stdout.on('data', onData);
  });
}

function exited(child: Holder): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('embedded database lock (heartbeat, stale after a period without one)', () => {
  it('keeps a second holder in the same process out while the first is alive, past the stale period', async () => {
    const path = lockPath();
    const first = await acquire(path, FAST);
    const started = Date.now();
    const second = acquireFileLock(path, { ...FAST, waitMs: 3_000 });
    await expect(second).rejects.toBeInstanceOf(LockHeldError);
    await expect(second).rejects.toThrow(path);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    await first.release();
    const third = await acquire(path, { ...FAST, waitMs: 0 });
    expect(third.lost.aborted).toBe(false);
  });

  it('keeps another live process out (exit code 3 material), and lets in once it stops with SIGTERM', async () => {
    const path = lockPath();
    const holder = startHolder(path, FAST);
    expect((await nextEvent(holder)).event).toBe('locked');
    await expect(acquireFileLock(path, FAST)).rejects.toMatchObject({ code: 'LOCK_HELD', exitCode: 3 });
    holder.kill('SIGTERM');
    await exited(holder);
    // Removed on the way out: no stale period to wait for.
    await acquire(path, { ...FAST, waitMs: 0 });
  });

  it('takes over a lock whose holder was SIGKILLed, within about the stale period', async () => {
    const path = lockPath();
    const holder = startHolder(path, FAST);
    expect((await nextEvent(holder)).event).toBe('locked');
    holder.kill('SIGKILL');
    await exited(holder);
    const started = Date.now();
    await acquire(path, FAST);
    expect(Date.now() - started).toBeLessThan(FAST.staleMs + 1_500);
  });

  it.runIf(canUnsharePid)(
    'a restarted container (PID 1 again, same host name) takes over the lock its SIGKILLed predecessor left, at production settings',
    async () => {
      const path = lockPath();
      const before = startHolder(path, {}, true);
      const held = await nextEvent(before);
      expect(held).toMatchObject({ event: 'locked', pid: 1 });
      process.kill(held.hostPid, 'SIGKILL');
      await exited(before);
      const after = startHolder(path, {}, true);
      const took = await nextEvent(after);
      expect(took).toMatchObject({ event: 'locked', pid: 1 });
      expect(took.waitedMs).toBeLessThan(12_500);
    },
    30_000,
  );

  it.runIf(canUnsharePid)('refuses a second PID 1 while the first one is alive', async () => {
    const path = lockPath();
    const first = startHolder(path, FAST, true);
    expect(await nextEvent(first)).toMatchObject({ event: 'locked', pid: 1 });
    const second = startHolder(path, FAST, true);
    const refused = await nextEvent(second);
    expect(refused).toMatchObject({ event: 'refused', pid: 1, code: 'LOCK_HELD' });
    expect(refused.message).toContain(path);
  });

  it('reports a compromised lock through `lost` instead of throwing from a timer', async () => {
    const path = lockPath();
    const lock = await acquire(path, FAST);
    rmSync(path, { recursive: true });
    const reason = await new Promise<unknown>((resolve) => lock.lost.addEventListener('abort', () => resolve(lock.lost.reason)));
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason).toMatchObject({ code: 'LOCK_LOST', exitCode: 1, fatal: true });
    expect((reason as Error).message).toContain(path);
    await lock.release();
  });

  it('does not stay blocked by a lock file in the old "host pid" format', async () => {
    const path = lockPath();
    writeFileSync(path, `${hostname()} 1`);
    await acquire(path, { ...FAST, waitMs: 0 });
    expect(statSync(path).isDirectory()).toBe(true);
  });
});
