import { randomUUID } from 'node:crypto';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';
import type { RoutePolicy } from '../src/pipeline/route-policy.js';
import { accessKeyOf, ADMIN_TOKEN, countStatuses, Stack, tokenFor } from './support/stack.js';

describe('Idempotency-Key on POST and DELETE', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const withKey = (key: string, extra: Record<string, string> = {}) => ({ 'idempotency-key': key, ...extra });

  it('replays the original status and body for a sequential repeat, without booking again', async () => {
    const eventId = await stack.db.createEvent(10);
    const key = randomUUID();
    const body = { event_id: eventId, user_id: 'repeat' };
    const first = await stack.reserve(body, withKey(key));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await stack.reserve(body, withKey(key));
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // The same body with the keys in another order is the same request.
    const reordered = await stack.reserve({ user_id: 'repeat', event_id: eventId }, withKey(key));
    expect(reordered.body).toEqual(first.body);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    // Without a key the same request runs, and the contract's 409 applies.
    expect((await stack.reserve(body)).status).toBe(409);
  });

  it('replays a stored client error too (the outcome is what is repeated)', async () => {
    const eventId = await stack.db.createEvent(1);
    await stack.reserve({ event_id: eventId, user_id: 'first' });
    const key = randomUUID();
    const late = await stack.reserve({ event_id: eventId, user_id: 'late' }, withKey(key));
    expect(late.status).toBe(409);
    await stack.db.query('UPDATE events SET total_seats = 2 WHERE id = $1', [eventId]);
    const replayed = await stack.reserve({ event_id: eventId, user_id: 'late' }, withKey(key));
    expect(replayed.status).toBe(409);
    expect(replayed.body).toEqual(late.body);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
  });

  it('executes concurrent repeats with one key once, and gives all of them the same answer', async () => {
    const eventId = await stack.db.createEvent(100);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => stack.reserve({ event_id: eventId, user_id: 'racer' }, withKey(key))),
    );
    // Without the key these would be 1 × 201 and 29 × 409.
    expect(countStatuses(responses)).toEqual({ 201: 30 });
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(29);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
  });

  it('applies to DELETE too: a repeated cancel replays its 200 instead of a 404', async () => {
    const eventId = await stack.db.createEvent(1);
    const booked = await stack.reserve({ event_id: eventId, user_id: 'canceller' });
    const key = randomUUID();
    const first = await stack.cancel(booked.body.id, withKey(key, accessKeyOf(booked)));
    expect(first.status).toBe(200);
    const again = await stack.cancel(booked.body.id, withKey(key, accessKeyOf(booked)));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await stack.cancel(booked.body.id, accessKeyOf(booked))).status).toBe(404);
  });

  it('answers 422 for the same key with a different body, and runs nothing', async () => {
    const eventId = await stack.db.createEvent(10);
    const key = randomUUID();
    expect((await stack.reserve({ event_id: eventId, user_id: 'one' }, withKey(key))).status).toBe(201);
    const other = await stack.reserve({ event_id: eventId, user_id: 'two' }, withKey(key));
    expect(other.status).toBe(422);
    expect(other.body).toEqual({
      message: 'Idempotency-Key was already used for a different request',
      error: 'Unprocessable Entity',
      statusCode: 422,
    });
    expect(await stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [eventId, 'two'])).toBe(0);
    // ... and for the same key on another route.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const sameKeyAsAdmin = randomUUID();
    expect(
      (await stack.request('POST', '/api/events', { name: 'Idem', total_seats: 2 }, withKey(sameKeyAsAdmin, admin)))
        .status,
    ).toBe(201);
    const elsewhere = await stack.reserve({ event_id: eventId, user_id: 'admin' }, withKey(sameKeyAsAdmin, admin));
    expect(elsewhere.status).toBe(422);
  });

  it('keeps keys of different callers apart', async () => {
    const eventId = await stack.db.createEvent(10);
    const key = 'shared-key-1';
    const gus = { authorization: `Bearer ${await tokenFor({ sub: 'gus' })}` };
    const hal = { authorization: `Bearer ${await tokenFor({ sub: 'hal' })}` };
    expect((await stack.reserve({ event_id: eventId, user_id: 'gus' }, withKey(key, gus))).status).toBe(201);
    expect((await stack.reserve({ event_id: eventId, user_id: 'hal' }, withKey(key, hal))).status).toBe(201);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(2);
  });

  it('is bound to every POST and DELETE route of the gateway, and to no read', () => {
    const routes: { route: string; idempotent: boolean }[] = [];
    for (const module of stack.gateway.get(ModulesContainer).values()) {
      for (const { metatype } of module.controllers.values()) {
        const prototype = (metatype as { prototype: Record<string, unknown> }).prototype;
        for (const name of Object.getOwnPropertyNames(prototype)) {
          const handler = prototype[name];
          const method = Reflect.getMetadata(METHOD_METADATA, handler as object) as RequestMethod | undefined;
          if (method === undefined || typeof handler !== 'function') continue;
          const policy = Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) as RoutePolicy | undefined;
          const path = [metatype as object, handler]
            .map((target) => String(Reflect.getMetadata(PATH_METADATA, target)).replace(/^\/|\/$/g, ''))
            .filter(Boolean)
            .join('/');
          const route = `${RequestMethod[method]} /${path}`;
          routes.push({ route, idempotent: policy?.idempotent === true });
        }
      }
    }
    const writes = routes.filter(({ route }) => /^(POST|DELETE) /.test(route));
    expect(writes.map(({ route }) => route).sort()).toEqual(
      [
        'DELETE /api/bookings/:id',
        'POST /api/bookings/reserve',
        'POST /api/events',
        'POST /api/events/:id/close-sales',
        'POST /api/events/:id/waitlist',
        'DELETE /api/events/:id/waitlist/:user_id',
        'DELETE /api/events/:id/waiting-room',
        'POST /api/events/:id/queue',
        'POST /api/events/:id/queue/admission',
      ].sort(),
    );
    for (const { route, idempotent } of routes) expect(idempotent, route).toBe(writes.some((w) => w.route === route));
  });

  it('refuses malformed keys with 400', async () => {
    for (const key of ['x'.repeat(256), 'has space', 'tab\tkey']) {
      const response = await stack.reserve({ event_id: 1, user_id: 'k' }, withKey(key));
      expect(response.status, key).toBe(400);
      expect(response.body.message).toBe('Idempotency-Key must be 1-255 visible ASCII characters');
    }
  });

  it('refuses a keyed request with 503 while Redis is down, and serves unkeyed ones', async () => {
    const eventId = await stack.db.createEvent(10);
    await stack.redis.stop();
    try {
      const keyed = await stack.reserve({ event_id: eventId, user_id: 'keyed' }, withKey(randomUUID()));
      expect(keyed.status).toBe(503);
      expect(keyed.headers.get('retry-after')).toBe('1');
      expect(keyed.body.message).toMatch(/^Idempotency-Key cannot be honoured right now/);
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(0);
      expect((await stack.reserve({ event_id: eventId, user_id: 'plain' })).status).toBe(201);
    } finally {
      await stack.redis.resume();
    }
  });
});
