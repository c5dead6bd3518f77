import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { renderOnce } from './renderOnce.ts';

const render = (statement: ReturnType<typeof sql>) => new PgDialect().sqlToQuery(statement);

describe('renderOnce', () => {
  it("binds each call's values by name, a name used twice in both places", () => {
    const statement = renderOnce(
      (p: (name: 'at' | 'ids') => ReturnType<typeof sql>) =>
        sql`select ${p('at')}::timestamptz as a, ${p('ids')}::int[] as ids, ${p('at')}::timestamptz as b`,
    );
    expect(render(statement({ at: '2025-03-01T02:00:00Z', ids: [1, 2] }))).toMatchObject({
      sql: 'select $1::timestamptz as a, $2::int[] as ids, $3::timestamptz as b',
      params: ['2025-03-01T02:00:00Z', [1, 2], '2025-03-01T02:00:00Z'],
    });
  });

  it('refuses, when the statement is made, a plain value where a placeholder belongs, naming it', () => {
    const make = () =>
      renderOnce(
        (p: (name: 'hwids') => ReturnType<typeof sql>) =>
          sql`select 1 from metaaccess.devices where hwid = any(${p('hwids')}::text[]) and missed_runs > ${3}`,
      );
    expect(make).toThrow(AppError);
    expect(thrownBy(make)).toMatchObject({ code: 'STATEMENT_INVALID' });
    expect(make).toThrow('parameter $2 (after "…::text[]) and missed_runs > ") is the plain value 3, not a placeholder');
  });

  it('refuses a $n in the text that is not a parameter (it would shift the values after it)', () => {
    const make = () => renderOnce((p: (name: 'a') => ReturnType<typeof sql>) => sql`select '${sql.raw('$1')}' as literal, ${p('a')} as a`);
    expect(make).toThrow(/markers \(\$1 \$1\) are not its 1 parameters in order/);
  });
});

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
