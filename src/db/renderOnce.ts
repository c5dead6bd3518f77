import { is, Placeholder, sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { AppError } from '../lib/errors.ts';

/**
 * A statement rendered to text once, at load: `build` gets a placeholder per parameter name, and
 * each call only interleaves the values with the fixed text, so drizzle walks a dozen chunks per
 * call instead of the hundreds a large statement is built from (for the page store, its
 * allocations were a large share of storing a page). drizzle's prepared statements are no
 * substitute: `db.execute` of raw SQL fills no placeholders, and a prepared query is its
 * session's internal API, on node-postgres and PGlite alike.
 *
 * The values are matched to the text by position, so the rendering is checked once, when it is
 * made: every parameter must be a placeholder (a plain value has no name to look a value up by,
 * and would be bound as NULL on every call), and the text's `$n` markers must be exactly $1..$n in
 * order (a `$2` in a literal or comment would shift every value after it).
 */
export function renderOnce<K extends string>(build: (p: (name: K) => SQL) => SQL): (values: Record<K, unknown>) => SQL {
  const query = new PgDialect().sqlToQuery(build((name) => sql`${sql.placeholder(name)}`));
  const segments = query.sql.split(/\$\d+/);
  const names = query.params.map((param, i) => {
    if (!is(param, Placeholder)) {
      const before = (segments[i] ?? '').replace(/\s+/g, ' ').slice(-60);
      throw new AppError(
        'STATEMENT_INVALID',
        `renderOnce: parameter $${i + 1} (after "…${before}") is the plain value ${describe(param)}, not a placeholder: pass it through p(name)`,
      );
    }
    return param.name as K;
  });
  const markers = query.sql.match(/\$\d+/g) ?? [];
  const expected = names.map((_, i) => `$${i + 1}`);
  if (markers.join(' ') !== expected.join(' ')) {
    throw new AppError(
      'STATEMENT_INVALID',
      `renderOnce: the text's markers (${markers.join(' ') || 'none'}) are not its ${names.length} parameters in order: is a $n part of a literal or a comment?`,
    );
  }
  return (values) =>
    sql.join(segments.flatMap((segment, i) => (i < names.length ? [sql.raw(segment), sql.param(values[names[i]!])] : [sql.raw(segment)])));
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
