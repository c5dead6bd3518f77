const DEFAULT_PREFIX = 'metaaccess_t';
/** Lower case, so names need no quoting; 31 characters leave room for the pid and a random tag within 63. */
const PREFIX_PATTERN = /^[a-z_][a-z0-9_]{0,30}$/;

/**
 * TEST_DB_PREFIX (default metaaccess_t), checked: several checkouts or CI jobs can share one
 * PostgreSQL server under different prefixes. Read by vitest.config.ts too, so a bad value stops
 * the run before any test starts.
 */
export function testDbPrefix(env: NodeJS.ProcessEnv = process.env): string {
  const prefix = env.TEST_DB_PREFIX ?? DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `TEST_DB_PREFIX=${JSON.stringify(prefix)} is not usable as a database name prefix: `
        + `1 to 31 characters of a-z, 0-9 and _, not starting with a digit (default ${DEFAULT_PREFIX}).`,
    );
  }
  return prefix;
}
