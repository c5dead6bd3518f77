import { parseArgs } from 'node:util';
import { AppError } from '../lib/errors.ts';

type FlagSpec = Record<string, { type: 'string' | 'boolean' }>;

/** Strict flag parsing: an unknown flag is a usage error (exit 2), not silently ignored. */
export function parseFlags<T extends FlagSpec>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new AppError('USAGE', `${(err as Error).message} (see --help)`, { exitCode: 2 });
  }
}

export function intFlag(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError('USAGE', `--${name}: "${value}" must be a whole number in ${min}..${max}`, { exitCode: 2 });
  }
  return n;
}
