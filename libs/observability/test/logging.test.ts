import { describe, expect, it } from 'vitest';
import {
  correlationIdFrom,
  correlationIdOrNew,
  createLogger,
  currentCorrelationId,
  holdLines,
  PinoLoggerService,
  runWithCorrelationId,
} from '../src/index.js';

class Lines {
  private text = '';
  writes = 0;
  write(chunk: string): void {
    this.text += chunk;
    this.writes += 1;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  all(): any[] {
    return this.text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  }
}

describe('correlation ids', () => {
  it('accepts short plain ids and refuses anything that could forge or bloat a log line', () => {
    expect(correlationIdFrom('abc-123_x.y:z@w')).toBe('abc-123_x.y:z@w');
    expect(correlationIdFrom('b64+id/x=~')).toBe('b64+id/x=~');
    expect(correlationIdFrom(['first', 'second'])).toBe('first');
    for (const bad of ['', 'a b', 'x'.repeat(129), 'line\nbreak', '{"a":1}', 42, undefined, null]) {
      expect(correlationIdFrom(bad), String(bad)).toBeUndefined();
    }
    expect(correlationIdOrNew('keep-me')).toBe('keep-me');
    expect(correlationIdOrNew('not ok')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is visible inside runWithCorrelationId, across awaits, and nowhere else', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    await runWithCorrelationId('outer', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(currentCorrelationId()).toBe('outer');
      runWithCorrelationId('inner', () => expect(currentCorrelationId()).toBe('inner'));
      expect(currentCorrelationId()).toBe('outer');
    });
    expect(currentCorrelationId()).toBeUndefined();
  });
});

describe('holdLines', () => {
  it("holds a logger's lines, with its fields and level, until one write hands them to its destination", () => {
    const lines = new Lines();
    const logger = createLogger({ service: 'notification-service', level: 'info', destination: lines });
    const held = holdLines(logger);
    for (const n of [1, 2, 3]) held.logger.info({ n }, 'held');
    held.logger.debug('below the level');
    expect(lines.writes).toBe(0);
    held.flush();
    held.flush(); // nothing left: no write
    expect(lines.writes).toBe(1);
    expect(lines.all()).toEqual(
      [1, 2, 3].map((n) => expect.objectContaining({ service: 'notification-service', level: 'info', n, msg: 'held' })),
    );
  });
});

describe('createLogger', () => {
  it('writes one JSON line with service, text level, ISO time and the current correlation id', () => {
    const lines = new Lines();
    const logger = createLogger({ service: 'api-gateway', level: 'info', destination: lines });
    logger.info('outside');
    runWithCorrelationId('req-1', () => logger.warn({ subject: 'booking.reserve' }, 'inside'));
    logger.debug('below the level');
    const [outside, inside, ...rest] = lines.all();
    expect(rest).toEqual([]);
    expect(outside).toMatchObject({ service: 'api-gateway', level: 'info', msg: 'outside' });
    expect(outside).not.toHaveProperty('correlationId');
    expect(new Date(outside.time).toISOString()).toBe(outside.time);
    expect(inside).toMatchObject({ level: 'warn', correlationId: 'req-1', subject: 'booking.reserve', msg: 'inside' });
  });

  it('lets an explicit correlationId win over the context', () => {
    const lines = new Lines();
    const logger = createLogger({ service: 's', level: 'info', destination: lines });
    runWithCorrelationId('context', () => logger.info({ correlationId: 'explicit' }, 'm'));
    expect(lines.all()[0].correlationId).toBe('explicit');
  });

  it('redacts credentials wherever they appear', () => {
    const lines = new Lines();
    const logger = createLogger({ service: 's', level: 'info', destination: lines });
    logger.info({ password: 'p1', token: 't1', headers: { authorization: 'Bearer secret-1', cookie: 'c=1' } }, 'm');
    logger.info({ request: { authorization: 'Bearer secret-2', headers: { authorization: 'Bearer secret-3' } } }, 'm');
    const text = JSON.stringify(lines.all());
    for (const secret of ['p1', 't1', 'secret-1', 'c=1', 'secret-2', 'secret-3']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});

describe('PinoLoggerService (Nest → pino)', () => {
  it("maps Nest's levels, context, error stacks, objects and Error instances", () => {
    const lines = new Lines();
    const service = new PinoLoggerService(createLogger({ service: 's', level: 'trace', destination: lines }));
    service.log('started', 'NestApplication');
    service.warn('careful');
    service.error('boom', 'Error: boom\n    at x', 'RpcErrorFilter');
    service.error(new Error('thrown'));
    service.debug({ detail: 1 }, 'Ctx');
    service.verbose('chatty');
    service.fatal('dead');
    expect(lines.all()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'started', context: 'NestApplication' }),
      expect.objectContaining({ level: 'warn', msg: 'careful' }),
      expect.objectContaining({
        level: 'error',
        msg: 'boom',
        context: 'RpcErrorFilter',
        stack: 'Error: boom\n    at x',
      }),
      expect.objectContaining({ level: 'error', msg: 'thrown', err: expect.objectContaining({ message: 'thrown' }) }),
      expect.objectContaining({ level: 'debug', detail: 1, context: 'Ctx' }),
      expect.objectContaining({ level: 'trace', msg: 'chatty' }),
      expect.objectContaining({ level: 'fatal', msg: 'dead' }),
    ]);
  });

  it("logs Nest's start-up narration (modules loaded, routes mapped) at debug, its other lines at info", () => {
    const lines = new Lines();
    const service = new PinoLoggerService(createLogger({ service: 's', level: 'debug', destination: lines }));
    service.log('AppModule dependencies initialized', 'InstanceLoader');
    service.log('Mapped {/api/events, GET} route', 'RouterExplorer');
    service.log('Nest application successfully started', 'NestApplication');
    expect(lines.all().map((line) => [line.level, line.context])).toEqual([
      ['debug', 'InstanceLoader'],
      ['debug', 'RouterExplorer'],
      ['info', 'NestApplication'],
    ]);
  });

  it('does no work for levels that are off', () => {
    const lines = new Lines();
    const service = new PinoLoggerService(createLogger({ service: 's', level: 'warn', destination: lines }));
    service.log('quiet');
    service.debug('quiet');
    service.warn('loud');
    expect(lines.all().map((line) => line.msg)).toEqual(['loud']);
  });
});
