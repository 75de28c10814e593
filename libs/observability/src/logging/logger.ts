import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config.js';
import { currentCorrelationId } from '../correlation.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  level: LogLevel;
  /** Where JSON lines go; standard output by default. */
  destination?: DestinationStream;
  /**
   * Standard output written synchronously: a line has left the process when the call returns (at the
   * price of a write per line on the event loop). Asynchronous by default.
   */
  sync?: boolean;
}

/** Fields that may hold credentials are never written, wherever they appear in a log object. */
const REDACTED_PATHS = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

/**
 * One JSON line per log call with `service`, `level` (as text, for Loki),
 * `time`, and the current `correlationId` when a request is in flight.
 */
export function createLogger({ service, level, destination, sync = false }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // pino merges the log call's own fields into this object, so it must be a fresh one.
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId === undefined ? {} : { correlationId };
      },
    },
    destination ?? pino.destination({ dest: 1, sync }),
  );
}

/** A logger whose lines are held until `flush()` (see `holdLines`). */
export interface HeldLines {
  logger: Logger;
  /** Writes the lines held, in one write to the destination. */
  flush(): void;
}

/**
 * A logger writing the lines `logger` (made by `createLogger`) would, with the same fields and level, to its
 * destination, held until `flush()` hands them over in one write: on a synchronous destination, one system
 * call for many lines.
 */
export function holdLines(logger: Logger): HeldLines {
  const destination = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
  let held = '';
  const holder = createLogger({
    service: (logger.bindings() as { service: string }).service,
    level: logger.level as LogLevel,
    destination: {
      write: (line: string) => {
        held += line;
      },
    },
  });
  return {
    logger: holder,
    flush: () => {
      if (held === '') return;
      const lines = held;
      held = '';
      destination.write(lines);
    },
  };
}

/** Nest's own loggers that narrate start-up one line per module, route and subscription. */
const NEST_START_UP_CONTEXTS: ReadonlySet<string> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestMicroservice',
  'NestFactory',
]);

/**
 * Routes Nest's `Logger` calls into pino. Written here rather than taken from
 * nestjs-pino because that module keeps one process-wide root logger and
 * carries request context in its own per-request child loggers; the
 * correlation id already lives in our AsyncLocalStorage (it must also reach
 * NATS headers and stored events), so a pino mixin adds it to every line and
 * only this thin adapter is left to write.
 */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    // Nest's start-up narration (every module loaded, every route mapped) is for debugging, not for operators.
    const context = params.at(-1);
    this.write(typeof context === 'string' && NEST_START_UP_CONTEXTS.has(context) ? 'debug' : 'info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest passes the context (the logger's name) last, and for errors a stack before it. */
  private write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', message: unknown, params: unknown[]) {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' && params.length > 1 ? params[0] : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...message });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
