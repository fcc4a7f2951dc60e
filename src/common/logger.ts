import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/config';

export type { Logger };

/** Structured JSON logs. Credentials are redacted wherever they might appear. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'budget-gateway' },
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', '*.apiKey', '*.api_key', 'secret', '*.secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
