import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** pino level. Default: "info". */
  level?: string;
  /** Where JSON lines go. Default: stdout. */
  destination?: DestinationStream;
}

/**
 * The one root JSON logger of a long-running process (controller, server). Child loggers add
 * `application`, `target`, `digest`. Fields that could carry credentials are redacted even if a
 * caller passes them by mistake: tokens and keys never reach a log line.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { name: 'rollout-relay' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'key', '*.key', 'privateKey', '*.privateKey', 'password', '*.password'],
        censor: '[redacted]',
      },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** A logger that drops everything (unit tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
