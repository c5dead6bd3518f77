// Shared by every benchmark scenario: the machine line, medians, fresh databases, result output.
// Scenarios import the built modules from dist/ (`npm run build` first; `npm run bench` does it).
import os from 'node:os';
import pg from 'pg';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function machine() {
  const cpus = os.cpus();
  return `${cpus.length}× ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

export const isQuick = () => process.argv.includes('--quick');

/** Progress for a person watching; stdout is reserved for the result. */
export const log = (...parts) => process.stderr.write(`${parts.join(' ')}\n`);

// TEST_DB_PREFIX, as for the tests, keeps apart the bench databases of checkouts sharing one
// server: `bench_churn` becomes `<prefix>_bench_churn`. Unset, the names are the documented ones.
const DB_PREFIX = dbPrefix(process.env.TEST_DB_PREFIX);

function dbPrefix(value) {
  if (value === undefined) return '';
  if (!/^[a-z_][a-z0-9_]{0,30}$/.test(value)) {
    throw new Error(`TEST_DB_PREFIX=${JSON.stringify(value)}: 1 to 31 characters of a-z, 0-9 and _, not starting with a digit`);
  }
  return `${value}_`;
}

/** The name on the server of the bench database `name` (bench_…). */
export const dbName = (name) => `${DB_PREFIX}${name}`;

/** The URL of the bench database `name` on the local server. */
export function dbUrl(name) {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName(name)}`;
  return url.toString();
}

/** Drops and creates `name` on the local server; returns its URL. */
export async function createDatabase(name) {
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${dbName(name)} with (force)`);
    await admin.query(`create database ${dbName(name)}`);
  } finally {
    await admin.end();
  }
  return dbUrl(name);
}

export async function dropDatabase(name) {
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${dbName(name)} with (force)`);
  } finally {
    await admin.end();
  }
}

/** A fresh, migrated database opened through the product's own code. */
export async function freshDatabase(name) {
  const { openDatabase } = await import('../../dist/db/openDatabase.js');
  const { runMigrations } = await import('../../dist/db/migrate.js');
  const url = await createDatabase(name);
  const database = await openDatabase({ url, pgliteDir: '' });
  await runMigrations(database);
  return { database, url };
}

/**
 * The scenario's result, as the last line of stdout; bench/run.mjs collects these into
 * BENCHMARKS.md. Each row: { measure, values: number[], median, unit, target?, met?: boolean, note? }.
 */
export function emitResult(result) {
  process.stdout.write(`${JSON.stringify({ machine: machine(), ...result })}\n`);
}
