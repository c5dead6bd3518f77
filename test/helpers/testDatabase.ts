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

/**
 * A database name of this test run (`<TEST_DB_PREFIX>_<pid>_<random>`): global teardown drops
 * whatever a crashed test left under it, and nothing of another run sharing the server.
 */
export function testDatabaseName(): string {
  return `${inject('dbNamePrefix')}${randomBytes(5).toString('hex')}`;
}

/** A fresh, migrated database cloned from the template made in global setup (milliseconds, not seconds). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = testDatabaseName();
  await admin(adminUrl, (c) => c.query(`create database ${name} template ${inject('templateDb')}`));
  const url = withDatabaseName(adminUrl, name);
  const database = await openDatabase({ url, pgliteDir: '' });
  return {
    database,
    url,
    name,
    drop: async () => {
      await database.close().catch(() => undefined);
      await admin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

export interface EmptyDatabase {
  url: string;
  name: string;
  /** Drops the database, closing whatever connections are still open. */
  drop(): Promise<void>;
}

/** An empty database of this run (no schema, not the template): for migrations from an older release. */
export async function createEmptyDatabase(): Promise<EmptyDatabase> {
  const adminUrl = inject('adminUrl');
  const name = testDatabaseName();
  await admin(adminUrl, (c) => c.query(`create database ${name}`));
  return {
    url: withDatabaseName(adminUrl, name),
    name,
    drop: async () => void (await admin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`))),
  };
}
