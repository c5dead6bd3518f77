import winston from 'winston';
import { printableText } from './printable.ts';
import { redactText, redactValue, SECRET_KEY } from './redact.ts';

export type Logger = winston.Logger;
export type LogFormat = 'json' | 'pretty';

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const value = info[key];
    info[key] = SECRET_KEY.test(key) ? '[REDACTED]' : redactValue(value);
  }
  if (typeof info.message === 'string') info.message = redactText(info.message);
  return info;
});

/** Strings are printed as they are (JSON escapes the rest): their control characters must not reach the terminal. */
const shown = (text: string) => printableText(text, Number.POSITIVE_INFINITY);

const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, service: _service, ...rest } = info;
  const fields = Object.entries(rest)
    .filter(([k, v]) => typeof k === 'string' && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? shown(v) : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp).slice(11, 23)} ${level} ${shown(String(message))}${fields ? `  ${fields}` : ''}`;
});

type Env = Record<string, string | undefined>;

/**
 * Colour for pretty lines: only on a terminal, as other tools do. FORCE_COLOR (not 0 or false)
 * asks for it anyway and wins over NO_COLOR, as in Node itself; NO_COLOR (any non-empty value,
 * no-color.org) turns it off.
 */
function wantsColour(stream: NodeJS.WritableStream, env: Env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  return (stream as { isTTY?: boolean }).isTTY === true;
}

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Where lines go; stderr by default so stdout stays for machine output. */
  stream?: NodeJS.WritableStream;
  /** NO_COLOR and FORCE_COLOR are read here; process.env by default. */
  env?: Env;
}

export function createLogger(options: LoggerOptions): Logger {
  const { combine, timestamp, errors, splat, json, colorize } = winston.format;
  const colour = wantsColour(options.stream ?? process.stderr, options.env ?? process.env);
  const format =
    options.format === 'json'
      ? combine(errors({ stack: true }), splat(), timestamp(), redactFormat(), json())
      : combine(errors({ stack: true }), splat(), timestamp(), redactFormat(), ...(colour ? [colorize()] : []), pretty);
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) });
  return winston.createLogger({ level: options.level, format, transports: [transport], defaultMeta: { service: 'metaaccess-sync' } });
}

/** A logger that drops everything; for library use and quiet tests. */
export function createSilentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
