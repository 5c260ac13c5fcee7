import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

/** Paths pino replaces with `[redacted]` wherever they appear in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.key',
  '*.secret',
  '*.cookie',
  'password',
  'token',
  'key',
  'secret',
  'databaseUrl',
  'redisUrl',
  'config.admin.password',
  '*.apiKey',
  'apiKey',
  'config.assistant.provider.apiKey',
];

export function createLogger(options: {
  level: string;
  pretty: boolean;
  stream?: DestinationStream | undefined;
}): Logger {
  const opts: LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (options.stream !== undefined) return pino(opts, options.stream);
  if (options.pretty)
    return pino(opts, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  return pino(opts);
}
