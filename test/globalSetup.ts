import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/openDatabase.ts';
import { testDbPrefix } from './helpers/testDbPrefix.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    /** `<TEST_DB_PREFIX>_<pid of this run>_`: every database this run creates starts with it. */
    dbNamePrefix: string;
  }
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Tests run on real PostgreSQL: TEST_DATABASE_URL (default: the local server), else a
 * testcontainers PostgreSQL where a container engine exists. One migrated template database is
 * made here; every test database is a cheap clone of it. All of them are named
 * `<TEST_DB_PREFIX>_<pid>_…`, and teardown drops those of this run only.
 */
export default async function setup(project: TestProject) {
  const dbNamePrefix = `${testDbPrefix()}_${process.pid}_`;
  const { adminUrl, stopContainer } = await findPostgres();
  const templateDb = `${dbNamePrefix}template`;
  await admin(adminUrl, async (c) => {
    await c.query(`drop database if exists ${templateDb}`);
    await c.query(`create database ${templateDb}`);
  });
  const database = await openDatabase({ url: withDatabaseName(adminUrl, templateDb), pgliteDir: '' });
  try {
    await runMigrations(database);
  } finally {
    await database.close();
  }
  project.provide('adminUrl', adminUrl);
  project.provide('templateDb', templateDb);
  project.provide('dbNamePrefix', dbNamePrefix);
  return async () => {
    await admin(adminUrl, async (c) => {
      // starts_with, not LIKE: `_` is a LIKE wildcard, so pid 12's pattern would match pid 123's databases.
      const { rows } = await c.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [dbNamePrefix]);
      for (const { datname } of rows) await c.query(`drop database if exists ${datname} with (force)`);
    });
    await stopContainer?.();
  };
}

async function findPostgres(): Promise<{ adminUrl: string; stopContainer?: () => Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_URL;
  try {
    await admin(url, async (c) => c.query('select 1'));
    return { adminUrl: url };
  } catch (err) {
    const reason = (err as Error).message;
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await withTimeout(new PostgreSqlContainer('postgres:16-alpine').start(), 120_000);
      return { adminUrl: container.getConnectionUri(), stopContainer: async () => void (await container.stop()) };
    } catch (containerErr) {
      throw new Error(
        `tests need PostgreSQL: ${url} is not reachable (${reason}) and no container runtime could start one (${(containerErr as Error).message}). Set TEST_DATABASE_URL.`,
      );
    }
  }
}

export async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);
}
