import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET, loadGatewayConfig } from '../src/config.js';
import { ADMIN_TOKEN, httpRequest, Stack, TEST_JWT, tokenFor } from './support/stack.js';

const sign = (claims: Record<string, unknown>, secret = TEST_JWT.JWT_SECRET, header = { alg: 'HS256' }) =>
  new SignJWT(claims).setProtectedHeader(header).sign(new TextEncoder().encode(secret));

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const validClaims = (overrides: Record<string, unknown> = {}) => ({
  sub: 'alice',
  iss: TEST_JWT.JWT_ISSUER,
  aud: TEST_JWT.JWT_AUDIENCE,
  exp: now() + 300,
  ...overrides,
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('authentication and authorization (AUTH_MODE=required)', () => {
  let stack: Stack;
  let eventId: number;

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: { AUTH_MODE: 'required' } });
    eventId = await stack.db.createEvent(50);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const reserveAs = (token: string | undefined, userId: string) =>
    stack.reserve({ event_id: eventId, user_id: userId }, token ? bearer(token) : {});

  it('books as oneself with a valid token', async () => {
    const response = await reserveAs(await tokenFor({ sub: 'alice' }), 'alice');
    expect(response.status).toBe(201);
    expect(response.body.user_id).toBe('alice');
  });

  it.each<[string, () => Promise<string | undefined>, RegExp]>([
    ['no token', async () => undefined, /^Bearer token required/],
    ['an expired token', () => sign(validClaims({ exp: now() - 3600 })), /^Token has expired$/],
    [
      'a token signed with another secret',
      () => sign(validClaims(), 'another-secret-0123456789abcdef0123'),
      /^Token signature is invalid$/,
    ],
    ['a token for another audience', () => sign(validClaims({ aud: 'someone-else' })), /"aud" claim/],
    ['a token from another issuer', () => sign(validClaims({ iss: 'https://evil.example' })), /"iss" claim/],
    ['a token without exp', () => sign(validClaims({ exp: undefined })), /"exp" claim/],
    ['a token without sub', () => sign(validClaims({ sub: undefined })), /"sub" claim/],
    [
      'a token whose sub holds a lone surrogate',
      () => sign(validClaims({ sub: 'alice\ud800' })),
      /"sub" claim is invalid: sub must be well-formed Unicode/,
    ],
    ['a token not yet valid', () => sign(validClaims({ nbf: now() + 3600 })), /"nbf" claim/],
    [
      'an unsigned token (alg: none)',
      async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(validClaims())}.`,
      /^Token (algorithm is not accepted|is malformed)/,
    ],
    [
      'an HS512 token (algorithm not configured)',
      () => sign(validClaims(), TEST_JWT.JWT_SECRET + TEST_JWT.JWT_SECRET, { alg: 'HS512' }),
      /^Token algorithm is not accepted \(expected HS256\)$/,
    ],
    ['garbage', async () => 'not.a.jwt', /^Token is malformed$/],
    [
      'a token with a non-list roles claim',
      () => sign(validClaims({ roles: 'admin' })),
      /"roles" claim must be a list/,
    ],
  ])('answers 401 for %s, and books nothing', async (_name, makeToken, message) => {
    const before = await stack.db.count('bookings');
    const response = await reserveAs(await makeToken(), 'alice-401');
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'Unauthorized', statusCode: 401 });
    expect(response.body.message).toMatch(message);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="event-booking", error="invalid_token"/);
    expect(await stack.db.count('bookings')).toBe(before);
  });

  it.each([['Basic YWxpY2U6cGFzcw=='], ['Bearer'], ['Bearer a b'], ['token-without-scheme']])(
    'answers 401 for the Authorization header %j',
    async (authorization) => {
      const response = await stack.reserve({ event_id: eventId, user_id: 'alice' }, { authorization });
      expect(response.status).toBe(401);
      expect(response.body.message).toBe('Authorization header must be "Bearer <token>"');
    },
  );

  it('answers 403 when a user books as someone else, and books nothing', async () => {
    const response = await reserveAs(await tokenFor({ sub: 'mallory' }), 'alice-victim');
    expect(response.status).toBe(403);
    expect(response.body).toEqual({
      message: 'A token for mallory cannot act as user alice-victim',
      error: 'Forbidden',
      statusCode: 403,
    });
    expect(await stack.db.count('bookings', 'user_id = $1', ['alice-victim'])).toBe(0);
  });

  it("lets a user read only their own bookings; an admin reads anyone's", async () => {
    const bob = await tokenFor({ sub: 'bob' });
    const booked = await reserveAs(bob, 'bob');
    expect(booked.status).toBe(201);
    const path = `/api/bookings/${booked.body.id}`;

    expect((await stack.request('GET', path, undefined, bearer(bob))).body).toEqual(booked.body);
    const other = await stack.request('GET', path, undefined, bearer(await tokenFor({ sub: 'carol' })));
    expect(other.status).toBe(403);
    expect(other.body.message).toBe('A token for carol cannot read bookings of user bob');
    expect((await stack.request('GET', path, undefined, bearer(ADMIN_TOKEN))).status).toBe(200);
    expect((await stack.request('GET', path)).status).toBe(401);

    // Listing: a user sees their own list by default and may not ask for another's.
    const own = await stack.request('GET', '/api/bookings', undefined, bearer(bob));
    expect(own.status).toBe(200);
    expect(own.body.map((b: { user_id: string }) => b.user_id)).toEqual(['bob']);
    const foreign = await stack.request('GET', '/api/bookings?user_id=alice', undefined, bearer(bob));
    expect(foreign.status).toBe(403);
    const asAdmin = await stack.request('GET', `/api/bookings?event_id=${eventId}`, undefined, bearer(ADMIN_TOKEN));
    expect(asAdmin.body.map((b: { user_id: string }) => b.user_id)).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('lets a user cancel, and read the history of, only their own bookings', async () => {
    const ivan = await tokenFor({ sub: 'ivan' });
    const judy = await tokenFor({ sub: 'judy' });
    const booked = await reserveAs(ivan, 'ivan');
    expect(booked.status).toBe(201);
    const id = booked.body.id;

    expect((await stack.cancel(id)).status).toBe(401);
    const foreign = await stack.cancel(id, bearer(judy));
    expect(foreign.status).toBe(403);
    expect(foreign.body.message).toBe('A token for judy cannot act as user ivan');
    expect(await stack.db.count('bookings', 'id = $1', [id])).toBe(1);

    const cancelled = await stack.cancel(id, bearer(ivan));
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id, user_id: 'ivan' });
    expect(await stack.db.count('bookings', 'id = $1', [id])).toBe(0);
    expect((await stack.cancel(id, bearer(ivan))).status).toBe(404);

    const path = `/api/bookings/${id}/history`;
    const own = await stack.request('GET', path, undefined, bearer(ivan));
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('cancelled');
    expect((await stack.request('GET', path, undefined, bearer(judy))).status).toBe(403);
    expect((await stack.request('GET', path, undefined, bearer(ADMIN_TOKEN))).status).toBe(200);
  });

  it('lets only an admin create events: 401 without a token, 403 for a user, 201 for an admin', async () => {
    const event = { name: 'Admin only', total_seats: 5 };
    const before = await stack.db.count('events');
    expect((await stack.request('POST', '/api/events', event)).status).toBe(401);
    const user = await stack.request('POST', '/api/events', event, bearer(await tokenFor({ sub: 'alice' })));
    expect(user.status).toBe(403);
    expect(user.body).toEqual({ message: 'This route requires the admin role', error: 'Forbidden', statusCode: 403 });
    expect(await stack.db.count('events')).toBe(before);
    const admin = await stack.request('POST', '/api/events', event, bearer(ADMIN_TOKEN));
    expect(admin.status).toBe(201);
    expect(admin.body).toMatchObject({ name: 'Admin only', total_seats: 5, available_seats: 5 });
  });

  it('keeps the event catalogue and health public', async () => {
    expect((await stack.request('GET', '/api/events')).status).toBe(200);
    expect((await stack.request('GET', `/api/events/${eventId}`)).status).toBe(200);
    expect((await stack.request('GET', '/health/live')).status).toBe(200);
  });

  it('checks a token sent with the public event lookup, as on every route', async () => {
    const path = `/api/events/${eventId}`;
    const expired = await stack.request('GET', path, undefined, bearer(await sign(validClaims({ exp: now() - 60 }))));
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ message: 'Token has expired', error: 'Unauthorized', statusCode: 401 });
    expect(expired.headers.get('www-authenticate')).toBe(
      'Bearer realm="event-booking", error="invalid_token", error_description="Token has expired"',
    );
    const malformed = await stack.request('GET', path, undefined, { authorization: 'Basic YWxpY2U6cGFzcw==' });
    expect(malformed.status).toBe(401);
    expect(malformed.body.message).toBe('Authorization header must be "Bearer <token>"');
    const valid = await stack.request('GET', path, undefined, bearer(await tokenFor({ sub: 'alice' })));
    expect(valid.status).toBe(200);
    expect(valid.body).toMatchObject({ id: eventId, total_seats: 50 });
  });

  it('GET /api/me names the verified token: its subject and roles, or 401 saying why not', async () => {
    const admin = await stack.request('GET', '/api/me', undefined, bearer(ADMIN_TOKEN));
    expect(admin.status).toBe(200);
    expect(admin.body).toEqual({ sub: 'admin', roles: ['admin'] });
    const user = await stack.request('GET', '/api/me', undefined, bearer(await tokenFor({ sub: 'alice' })));
    expect(user.body).toEqual({ sub: 'alice', roles: [] });
    for (const [token, message] of [
      [await sign(validClaims({ exp: now() - 60 })), 'Token has expired'],
      [await sign(validClaims(), 'another-secret-0123456789abcdef0123'), 'Token signature is invalid'],
      ['not.a.jwt', 'Token is malformed'],
    ] as const) {
      const refused = await stack.request('GET', '/api/me', undefined, bearer(token));
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ message, error: 'Unauthorized', statusCode: 401 });
    }
    expect((await stack.request('GET', '/api/me')).status).toBe(401);
  });

  describe('AUTH_MODE=optional', () => {
    let optional: string;
    beforeAll(async () => {
      optional = await stack.startExtraGateway({ AUTH_MODE: 'optional' });
    });

    it('books anonymously, but still checks a token that is sent', async () => {
      const body = { event_id: eventId, user_id: 'anon-1' };
      expect((await httpRequest(`${optional}/api/bookings/reserve`, 'POST', body)).status).toBe(201);
      const mismatch = await httpRequest(
        `${optional}/api/bookings/reserve`,
        'POST',
        { ...body, user_id: 'anon-2' },
        bearer(await tokenFor({ sub: 'zed' })),
      );
      expect(mismatch.status).toBe(403);
      const expired = await httpRequest(
        `${optional}/api/bookings/reserve`,
        'POST',
        body,
        bearer(await sign(validClaims({ exp: now() - 60 }))),
      );
      expect(expired.status).toBe(401);
      expect((await httpRequest(`${optional}/api/events`, 'POST', { name: 'x', total_seats: 1 })).status).toBe(401);
    });

    it('answers GET /api/me without a token with 401: there is no one to name', async () => {
      const anonymous = await httpRequest(`${optional}/api/me`, 'GET');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.message).toBe('Send Authorization: Bearer <token> to learn whom it names');
      const named = await httpRequest(`${optional}/api/me`, 'GET', undefined, bearer(await tokenFor({ sub: 'zed' })));
      expect(named.body).toEqual({ sub: 'zed', roles: [] });
    });
  });
});

describe('authentication with ES256 keys from a JWKS URL', () => {
  let stack: Stack;
  let jwks: Server;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const address = jwks.address() as { port: number };
    stack = await Stack.start({
      gatewayEnv: {
        AUTH_MODE: 'required',
        JWT_ALGORITHM: 'ES256',
        JWT_JWKS_URL: `http://127.0.0.1:${address.port}/.well-known/jwks.json`,
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    jwks?.close();
  });

  const es256 = (key: CryptoKey, claims = validClaims()) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'key-1' }).sign(key);

  it('accepts a token signed by the published key and refuses others', async () => {
    const eventId = await stack.db.createEvent(5);
    const body = { event_id: eventId, user_id: 'alice' };
    expect((await stack.reserve(body, bearer(await es256(privateKey)))).status).toBe(201);
    const forged = await stack.reserve(body, bearer(await es256(otherKey)));
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe('Token signature is invalid');
    // An HS256 token signed with the public key's text is the classic algorithm-confusion attack.
    const confused = await stack.reserve(body, bearer(await sign(validClaims())));
    expect(confused.status).toBe(401);
    expect(confused.body.message).toBe('Token algorithm is not accepted (expected ES256)');
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
  });
});

describe('auth configuration', () => {
  it('refuses to start in production with the development secret, naming the variable', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'production' })).toThrow(
      'Invalid configuration: JWT_SECRET: must be set to a real secret when NODE_ENV=production',
    );
    expect(loadGatewayConfig({ NODE_ENV: 'development' }).JWT_SECRET).toBe(DEV_JWT_SECRET);
    expect(() =>
      loadGatewayConfig({ NODE_ENV: 'production', JWT_SECRET: 'change-me-jwt-secret-at-least-32-characters' }),
    ).toThrow('JWT_SECRET: must be set to a real secret when NODE_ENV=production');
    expect(() => loadGatewayConfig({ JWT_ALGORITHM: 'RS256' })).toThrow(
      'JWT_JWKS_URL: is required when JWT_ALGORITHM=RS256',
    );
    expect(loadGatewayConfig({ JWT_JWKS_URL: '' }).JWT_JWKS_URL).toBeUndefined();
    expect(() => loadGatewayConfig({ JWT_ALGORITHM: 'ES256', JWT_JWKS_URL: 'ftp://keys' })).toThrow(
      'JWT_JWKS_URL: must be an http(s) URL',
    );
    expect(() => loadGatewayConfig({ JWT_SECRET: 'short' })).toThrow('JWT_SECRET: must be at least 32 characters');
    expect(() => loadGatewayConfig({ AUTH_MODE: 'sometimes' })).toThrow(/AUTH_MODE/);
    expect(() => loadGatewayConfig({ REDIS_URL: 'http://x' })).toThrow(
      'REDIS_URL: must be a redis:// or rediss:// URL',
    );
    expect(() => loadGatewayConfig({ RATE_LIMIT_IP_MAX: '0' })).toThrow(/RATE_LIMIT_IP_MAX/);
  });

  it('`pnpm token` mints a token the gateway accepts', async () => {
    const cli = fileURLToPath(new URL('../dist/auth/token-cli.js', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, '--sub', 'dana', '--role', 'admin', '--ttl', '5m'],
      {
        env: { ...process.env, ...TEST_JWT },
      },
    );
    const [, payload] = stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims).toMatchObject({
      sub: 'dana',
      roles: ['admin'],
      iss: TEST_JWT.JWT_ISSUER,
      aud: TEST_JWT.JWT_AUDIENCE,
    });
    expect(claims.exp - claims.iat).toBe(300);
  });
});
