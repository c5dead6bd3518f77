import winston from 'winston';
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

const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, service: _service, ...rest } = info;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp).slice(11, 23)} ${level} ${String(message)}${fields ? `  ${fields}` : ''}`;
});

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Where lines go; stderr by default so stdout stays for machine output. */
  stream?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const { combine, timestamp, errors, splat, json, colorize } = winston.format;
  const format =
    options.format === 'json'
      ? combine(errors({ stack: true }), splat(), timestamp(), redactFormat(), json())
      : combine(errors({ stack: true }), splat(), timestamp(), redactFormat(), colorize(), pretty);
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) });
  return winston.createLogger({ level: options.level, format, transports: [transport], defaultMeta: { service: 'metaaccess-sync' } });
}

/** A logger that drops everything; for library use and quiet tests. */
export function createSilentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
