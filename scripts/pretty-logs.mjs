/**
 * Turns the services' JSON log lines into one readable line each for a terminal (pino-pretty, the
 * formatter of the pino logger the services use); lines that are not JSON pass through unchanged.
 */
import PinoPretty from 'pino-pretty';

/** A writable stream for one service's standard output, printing to this process's standard output. */
export function prettyStream() {
  return PinoPretty({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    messageKey: 'msg',
    messageFormat: '{service}{if context} [{context}]{end}: {msg}',
    ignore: 'pid,hostname,service,context',
    destination: process.stdout,
  });
}
