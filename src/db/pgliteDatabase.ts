import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError } from '../lib/errors.ts';
import { acquireFileLock, type FileLockOptions } from './fileLock.ts';
import type { Database, Db } from './openDatabase.ts';
import * as schema from './schema.ts';

/**
 * The embedded database: PGlite in one directory, one process at a time. There is no connection
 * to wait for; the only wait is for the directory's lock file (acquireFileLock: about one stale
 * period, for a holder that died without letting go). That lock, held from open to close, is
 * also the run lock.
 */
export async function openPglite(dir: string, options: { fileLock?: FileLockOptions; mustExist: boolean }): Promise<Database> {
  const dataDir = resolve(dir);
  if (options.mustExist && !existsSync(`${dataDir}/PG_VERSION`)) {
    throw new AppError(
      'DB_NOT_FOUND',
      `no embedded database in ${dataDir}: nothing has been synced here yet (run \`sync\` or \`demo\` first, set PGLITE_DIR, or set DATABASE_URL)`,
    );
  }
  const lock = await acquireFileLock(`${dataDir}.lock`, options.fileLock);
  try {
    mkdirSync(dataDir, { recursive: true });
    // Loaded only when used: the WASM engine costs time and memory a PostgreSQL user never needs.
    // (PGlite's node-postgres adapter hangs inside drizzle's migration transaction, so its own driver is used.)
    const { PGlite } = await import('@electric-sql/pglite');
    const { drizzle } = await import('drizzle-orm/pglite');
    const pglite = await PGlite.create(dataDir);
    return {
      db: drizzle(pglite, { schema }) as unknown as Db,
      location: `embedded PGlite in ${dataDir}`,
      applyMigrations: async ({ afterwards, ...config }, timezone) => {
        const { migrate } = await import('drizzle-orm/pglite/migrator');
        // One connection, one process (the lock file): the setting is seen by the migrations that follow.
        await pglite.query("select set_config('metaaccess.timezone', $1, false)", [timezone]);
        await migrate(drizzle(pglite), config);
        await pglite.exec(afterwards);
      },
      tryAcquireRunLock: async () => ({ lost: lock.lost, release: async () => undefined }),
      close: async () => {
        await pglite.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw new AppError('DB_OPEN_FAILED', `cannot open the embedded database in ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
}
