import { readDotenv, SECRET_VARIABLES, type Env } from './config.ts';

/** Where a variable's effective value came from, as `check` shows it. */
export type VariableSource = 'environment' | '.env file' | 'default';

export interface VariableOrigin {
  source: VariableSource;
  /** For a secret read from a file: the `X_FILE` variable that named it. */
  viaFile?: string;
}

const isSet = (value: string | undefined) => value !== undefined && value.trim() !== '';

/**
 * Where each variable came from: the real environment wins over the .env file (as in
 * readEnvironment), and a secret's `X_FILE` counts as the secret being set.
 */
export function variableOrigins(names: readonly string[], processEnv: Env, dotenvPath = '.env'): Record<string, VariableOrigin> {
  const dotenv = readDotenv(dotenvPath);
  const sourceOf = (name: string): VariableSource | undefined =>
    name in processEnv ? (isSet(processEnv[name]) ? 'environment' : undefined) : isSet(dotenv[name]) ? '.env file' : undefined;
  const origins: Record<string, VariableOrigin> = {};
  for (const name of names) {
    const file = SECRET_VARIABLES.includes(name) ? sourceOf(`${name}_FILE`) : undefined;
    origins[name] = file ? { source: file, viaFile: `${name}_FILE` } : { source: sourceOf(name) ?? 'default' };
  }
  return origins;
}
