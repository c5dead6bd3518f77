import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/openDatabase.ts';
import { admin, withDatabaseName } from '../globalSetup.ts';

export interface TestDatabase {
  database: Database;
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the template made in global setup (milliseconds, not seconds). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `metaaccess_t_${process.ppid}_${randomBytes(5).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`create database ${name} template ${inject('templateDb')}`));
  const url = withDatabaseName(adminUrl, name);
  const database = await openDatabase({ url, pgliteDir: '' });
  return {
    database, url, name,
    drop: async () => {
      await database.close().catch(() => undefined);
      await admin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
