import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockHeldError } from '../lib/errors.ts';
import { acquireFileLock } from './fileLock.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'lock-'));

describe('embedded database lock file', () => {
  it('keeps a second holder out until released', () => {
    const path = join(dir(), 'pglite.lock');
    const release = acquireFileLock(path);
    expect(readFileSync(path, 'utf8')).toBe(`${hostname()} ${process.pid}`);
    // A live process (here: our parent) holding it keeps us out.
    writeFileSync(path, `${hostname()} ${process.ppid}`);
    expect(() => acquireFileLock(path)).toThrow(LockHeldError);
    writeFileSync(path, `${hostname()} ${process.pid}`);
    release();
    expect(existsSync(path)).toBe(false);
  });

  it('takes over a lock left by a dead process on this host', () => {
    const path = join(dir(), 'pglite.lock');
    writeFileSync(path, `${hostname()} 2147483646`);
    const release = acquireFileLock(path);
    expect(readFileSync(path, 'utf8')).toBe(`${hostname()} ${process.pid}`);
    release();
  });

  it('never assumes a lock from another host is stale', () => {
    const path = join(dir(), 'pglite.lock');
    writeFileSync(path, 'other-container 1');
    expect(() => acquireFileLock(path)).toThrow(/other-container 1.*delete the lock file/);
  });
});
