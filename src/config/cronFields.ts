import cron from 'node-cron';

interface Field {
  name: string;
  min: number;
  max: number;
}

const FIVE: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
];
const SIX: readonly Field[] = [{ name: 'second', min: 0, max: 59 }, ...FIVE];

const SHAPE = 'minute hour day-of-month month day-of-week, optionally a second first';

/**
 * Why node-cron refuses `expr`, naming the field at fault when a number is out of range; undefined
 * when node-cron accepts it (its verdict decides; this only explains a refusal, which node-cron
 * gives as a bare no: "61 * * * *" used to be reported as a wrong number of fields).
 */
export function cronProblem(expr: string): string | undefined {
  if (cron.validate(expr)) return undefined;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `"${expr}" is not a valid cron expression: it has ${fields.length} field${fields.length === 1 ? '' : 's'}, a cron expression has 5 or 6 (${SHAPE})`;
  }
  const spec = fields.length === 6 ? SIX : FIVE;
  for (const [i, text] of fields.entries()) {
    const wrong = outOfRange(text, spec[i]!);
    if (wrong) return `"${expr}": ${wrong}`;
  }
  return `"${expr}" is not a valid cron expression (${SHAPE})`;
}

/** The first number in a field (list items, ranges; not steps) outside the field's range. */
function outOfRange(text: string, field: Field): string | undefined {
  for (const item of text.split(',')) {
    const range = item.split('/')[0] ?? '';
    for (const part of range.split('-')) {
      if (!/^\d+$/.test(part)) continue;
      const n = Number(part);
      if (n < field.min || n > field.max) return `${field.name} ${n} is outside ${field.min}-${field.max}`;
    }
  }
  return undefined;
}
