import { BookingEventType, MAX_LIST_SIZE, type BookingEvent } from '@booking/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, countStatuses, Stack, tokenFor, type ApiResponse } from './support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * The organiser's tools against the real stack (two booking-service replicas, one of them in this
 * process): changing an event, closing its sales, listing and exporting its bookings, each change on the
 * stream as `event.updated`; rows counted after concurrent changes and bookings.
 */
describe('organiser tools', () => {
  let stack: Stack;
  let organiser: Record<string, string>;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1, processReplicas: 1 });
    organiser = { authorization: `Bearer ${await tokenFor({ sub: 'organiser-ann', roles: ['admin'] })}` };
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const patch = (eventId: number | string, body: unknown, headers: Record<string, string> = admin) =>
    stack.request('PATCH', `/api/events/${eventId}`, body, headers);
  const eventRow = async (eventId: number) =>
    (
      await stack.db.query<Record<string, unknown>>(
        'SELECT name, total_seats, booked_seats, venue, description, starts_at, sales_open_at, sales_close_at, updated_at FROM events WHERE id = $1',
        [eventId],
      )
    ).rows[0]!;
  /** The event.updated rows written for an event. */
  const updatesOf = async (eventId: number) =>
    (
      await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE event_id = $1 AND type = $2', [
        eventId,
        BookingEventType.eventUpdated,
      ])
    ).rows[0]!.n;
  const streamed = async (correlationId: string): Promise<BookingEvent | undefined> => {
    await stack.outboxDrained();
    return (await stack.streamEvents()).find((stored) => stored.event.correlation_id === correlationId)?.event;
  };
  /** Reserves for each user, one at a time. */
  const book = async (eventId: number, ...users: string[]) => {
    for (const user_id of users) expect((await stack.reserve({ event_id: eventId, user_id })).status).toBe(201);
  };

  it("changes an event's details, window and capacity; each change is event.updated with its correlation id and its author", async () => {
    const created = await stack.request(
      'POST',
      '/api/events',
      { name: 'Opening night', total_seats: 10, venue: 'Hall A', starts_at: '2099-06-01T19:00:00+02:00' },
      admin,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      venue: 'Hall A',
      starts_at: '2099-06-01T17:00:00.000Z',
      description: null,
      sales_open_at: null,
      sales_close_at: null,
    });
    const eventId = created.body.id as number;
    await book(eventId, 'early-bird');

    const changed = await patch(
      eventId,
      {
        name: 'Opening night (moved)',
        total_seats: 20,
        venue: null,
        description: 'Doors at 18:30',
        sales_open_at: '2000-01-01T00:00:00Z',
        sales_close_at: '2099-06-01T12:00:00Z',
      },
      { ...organiser, 'x-request-id': 'organiser-change-1' },
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id: eventId,
      name: 'Opening night (moved)',
      total_seats: 20,
      booked_seats: 1,
      available_seats: 19,
      venue: null,
      description: 'Doors at 18:30',
      starts_at: '2099-06-01T17:00:00.000Z',
      sales_open_at: '2000-01-01T00:00:00.000Z',
      sales_close_at: '2099-06-01T12:00:00.000Z',
    });
    expect((await stack.request('GET', `/api/events/${eventId}`)).body).toEqual(changed.body);
    expect(await eventRow(eventId)).toMatchObject({ total_seats: 20, venue: null, description: 'Doors at 18:30' });

    const update = await streamed('organiser-change-1');
    expect(update).toMatchObject({
      type: BookingEventType.eventUpdated,
      correlation_id: 'organiser-change-1',
      data: {
        event_id: eventId,
        action: 'change',
        actor: 'organiser-ann',
        booked_seats: 1,
        changes: {
          name: { from: 'Opening night', to: 'Opening night (moved)' },
          total_seats: { from: 10, to: 20 },
          venue: { from: 'Hall A', to: null },
          description: { from: null, to: 'Doors at 18:30' },
          sales_open_at: { from: null, to: '2000-01-01T00:00:00.000Z' },
          sales_close_at: { from: null, to: '2099-06-01T12:00:00.000Z' },
        },
      },
    });
    // A field sent with the value it has is no change; the same change again writes nothing.
    expect(Object.keys((update!.data as { changes: object }).changes)).not.toContain('starts_at');
    const repeated = await patch(eventId, { total_seats: 20, starts_at: '2099-06-01T17:00:00Z' });
    expect(repeated.body).toEqual(changed.body);
    expect(await updatesOf(eventId)).toBe(1);
  });

  it('never sets capacity below the seats booked: a 409 that says so, and nothing changed', async () => {
    const eventId = await stack.db.createEvent(5, 'Small room');
    await book(eventId, 'a', 'b', 'c');
    const before = await eventRow(eventId);
    const refused = await patch(eventId, { total_seats: 2, venue: 'Elsewhere' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      message: `Event ${eventId} has 3 seats booked; total_seats cannot be set below that`,
      error: 'Conflict',
      statusCode: 409,
    });
    expect(await eventRow(eventId)).toEqual(before);
    expect(await updatesOf(eventId)).toBe(0);

    // Down to exactly the seats booked: sold out from then on.
    expect((await patch(eventId, { total_seats: 3 })).body).toMatchObject({ total_seats: 3, available_seats: 0 });
    const late = await stack.reserve({ event_id: eventId, user_id: 'd' });
    expect(late.body.message).toBe(`No available seats for event ${eventId}`);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(3);
  });

  it('keeps the sales window in order against what is stored: a 409, and nothing changed', async () => {
    const eventId = await stack.db.createEvent(5);
    await patch(eventId, { sales_open_at: '2098-01-01T00:00:00Z', starts_at: '2099-01-01T00:00:00Z' });
    const before = await eventRow(eventId);
    const cases: [object, string][] = [
      [
        { sales_close_at: '2097-01-01T00:00:00Z' },
        'sales_close_at (2097-01-01T00:00:00.000Z) must be after sales_open_at (2098-01-01T00:00:00.000Z)',
      ],
      [
        { starts_at: '2097-06-01T00:00:00Z' },
        'sales_open_at (2098-01-01T00:00:00.000Z) must be before starts_at (2097-06-01T00:00:00.000Z)',
      ],
    ];
    for (const [body, message] of cases) {
      const response = await patch(eventId, body);
      expect(response.status, JSON.stringify(body)).toBe(409);
      expect(response.body.message).toBe(message);
    }
    expect(await eventRow(eventId)).toEqual(before);
    expect((await stack.reserve({ event_id: eventId, user_id: 'too-early' })).body.message).toBe(
      `Sales for event ${eventId} open at 2098-01-01T00:00:00.000Z`,
    );
    // Clearing the opening time puts the event on sale at once.
    expect((await patch(eventId, { sales_open_at: null })).status).toBe(200);
    await book(eventId, 'now-on-sale');
  });

  it('closes sales at once: refused from then on, recorded as event.updated; closing again changes nothing more', async () => {
    const eventId = await stack.db.createEvent(10);
    await book(eventId, 'before-close');
    const closed = await stack.request('POST', `/api/events/${eventId}/close-sales`, undefined, {
      ...organiser,
      'x-request-id': 'organiser-close-1',
    });
    expect(closed.status).toBe(200);
    expect(Date.parse(closed.body.sales_close_at)).toBeLessThanOrEqual(Date.now() + 1_000);
    const refused = await stack.reserve({ event_id: eventId, user_id: 'after-close' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe(`Sales for event ${eventId} have closed`);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
    expect(await streamed('organiser-close-1')).toMatchObject({
      data: {
        action: 'close_sales',
        actor: 'organiser-ann',
        changes: { sales_close_at: { from: null, to: closed.body.sales_close_at } },
      },
    });

    const again = await stack.request('POST', `/api/events/${eventId}/close-sales`, undefined, admin);
    expect(again.body).toEqual(closed.body);
    expect(await updatesOf(eventId)).toBe(1);
    // Reopened by clearing the close: on sale again.
    expect((await patch(eventId, { sales_close_at: null })).body.sales_close_at).toBeNull();
    await book(eventId, 'after-reopening');

    // An event not yet on sale, closed: an empty window, closed for good.
    const future = await stack.db.createEvent(3);
    await patch(future, { sales_open_at: '2099-01-01T00:00:00Z' });
    const shut = await stack.request('POST', `/api/events/${future}/close-sales`, undefined, admin);
    expect(shut.body.sales_open_at).toBe(shut.body.sales_close_at);
    expect((await stack.reserve({ event_id: future, user_id: 'x' })).body.message).toBe(
      `Sales for event ${future} have closed`,
    );
    expect((await stack.request('POST', '/api/events/987654/close-sales', undefined, admin)).status).toBe(404);
    expect((await patch(987654, { name: 'Nowhere' })).body).toEqual({
      message: 'Event 987654 not found',
      error: 'Not Found',
      statusCode: 404,
    });
  });

  it('concurrent capacity changes and reservations on one event: the counter equals the rows, never above capacity', async () => {
    const eventId = await stack.db.createEvent(100, 'Hammered');
    const capacities = Array.from({ length: 60 }, (_, i) => 40 + ((i * 37) % 121));
    const [reservations, changes] = await Promise.all([
      Promise.all(
        Array.from({ length: 600 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `hammer-${i % 500}` })),
      ),
      Promise.all(capacities.map((total_seats) => patch(eventId, { total_seats }))),
    ]);
    expect(Object.keys(countStatuses(reservations)).sort()).toEqual(['201', '409']);
    expect(Object.keys(countStatuses(changes)).every((status) => status === '200' || status === '409')).toBe(true);
    for (const refused of changes.filter((response) => response.status === 409)) {
      expect(refused.body.message).toMatch(
        new RegExp(`^Event ${eventId} has \\d+ seats booked; total_seats cannot be set below that$`),
      );
    }
    const { rows } = await stack.db.query<{ total_seats: number; booked_seats: number; n: number; users: number }>(
      `SELECT e.total_seats, e.booked_seats, count(b.id)::int AS n, count(DISTINCT b.user_id)::int AS users
         FROM events e LEFT JOIN bookings b ON b.event_id = e.id WHERE e.id = $1 GROUP BY e.id`,
      [eventId],
    );
    const { total_seats, booked_seats, n, users } = rows[0]!;
    expect(booked_seats).toBe(n);
    expect(users).toBe(n);
    expect(n).toBe(reservations.filter((response) => response.status === 201).length);
    expect(n).toBeLessThanOrEqual(total_seats);
    // Each accepted change was recorded once, and none set capacity below the seats booked at that moment.
    const { rows: updates } = await stack.db.query<{ to: number; booked: number }>(
      `SELECT (data->'changes'->'total_seats'->>'to')::int AS to, (data->>'booked_seats')::int AS booked
         FROM outbox WHERE event_id = $1 AND type = $2`,
      [eventId, BookingEventType.eventUpdated],
    );
    expect(updates).toHaveLength(changes.filter((response) => response.status === 200).length);
    for (const update of updates) if (update.to !== null) expect(update.to).toBeGreaterThanOrEqual(update.booked);
  });

  it("lists an event's bookings a page at a time: the cursor leads through all of them, in order", async () => {
    const eventId = await stack.db.createEvent(10);
    await book(eventId, ...Array.from({ length: 7 }, (_, i) => `listed-${i}`));
    const expected = (
      await stack.db.query<{ id: number }>('SELECT id FROM bookings WHERE event_id = $1 ORDER BY id', [eventId])
    ).rows.map((row) => row.id);

    const seen: number[] = [];
    let path: string | undefined = `/api/events/${eventId}/bookings?limit=3`;
    const pages: number[] = [];
    while (path) {
      const page: ApiResponse = await stack.request('GET', path, undefined, admin);
      expect(page.status).toBe(200);
      pages.push(page.body.length);
      seen.push(...page.body.map((booking: { id: number; event_id: number }) => booking.id));
      const link = page.headers.get('link');
      const cursor = page.headers.get('next-cursor');
      if (link) expect(link).toBe(`</api/events/${eventId}/bookings?limit=3&cursor=${cursor}>; rel="next"`);
      path = link ? /^<([^>]+)>/.exec(link)![1] : undefined;
    }
    expect(pages).toEqual([3, 3, 1]);
    expect(seen).toEqual(expected);

    const all = await stack.request('GET', `/api/events/${eventId}/bookings`, undefined, admin);
    expect(all.body.map((booking: { id: number }) => booking.id)).toEqual(expected);
    expect(all.body[0]).toEqual({
      id: expected[0],
      event_id: eventId,
      user_id: 'listed-0',
      created_at: expect.any(String),
    });
    expect(all.headers.get('link')).toBeNull();
    const missing = await stack.request('GET', '/api/events/987654/bookings', undefined, admin);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('Event 987654 not found');
  });

  it('exports the bookings as CSV: every one of them across pages, cells a spreadsheet would run defused', async () => {
    const eventId = await stack.db.createEvent(MAX_LIST_SIZE + 50);
    const hostile = ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2', '@SUM(A1)', 'comma, "quoted"', 'plain'];
    await book(eventId, ...hostile);
    // More than one page of bookings, written directly.
    await stack.db.query(
      `INSERT INTO bookings (event_id, user_id) SELECT $1, 'bulk-' || g FROM generate_series(1, $2::int) g`,
      [eventId, MAX_LIST_SIZE + 5],
    );
    const csv = await fetch(`${stack.baseUrl}/api/events/${eventId}/bookings`, {
      headers: { ...admin, accept: 'text/csv' },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="event-${eventId}-bookings.csv"`);
    const lines = (await csv.text()).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('id,event_id,user_id,created_at');
    const { rows } = await stack.db.query<{ id: number; user_id: string; created_at: Date }>(
      'SELECT id, user_id, created_at FROM bookings WHERE event_id = $1 ORDER BY id',
      [eventId],
    );
    expect(lines).toHaveLength(rows.length + 1);
    expect(lines.slice(1, 7).map((line) => line.split(',').slice(2, -1).join(','))).toEqual([
      `"'=HYPERLINK(""http://evil.example"",""x"")"`,
      "'+1+1",
      "'-2",
      "'@SUM(A1)",
      '"comma, ""quoted"""',
      'plain',
    ]);
    expect(lines[1]).toBe(
      `${rows[0]!.id},${eventId},"'=HYPERLINK(""http://evil.example"",""x"")",${rows[0]!.created_at.toISOString()}`,
    );
    expect(lines.at(-1)).toBe(
      `${rows.at(-1)!.id},${eventId},bulk-${MAX_LIST_SIZE + 5},${rows.at(-1)!.created_at.toISOString()}`,
    );
    expect(lines.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(rows.map((row) => row.id));

    // A page of it, when asked for one.
    const page = await fetch(`${stack.baseUrl}/api/events/${eventId}/bookings?limit=2`, {
      headers: { ...admin, accept: 'text/csv' },
    });
    expect((await page.text()).trim().split('\n')).toHaveLength(3);
    expect(page.headers.get('next-cursor')).toBeTruthy();
  });

  it('lets only admins change events, close sales and read bookings: 401 without a token, 403 with another; nothing changed', async () => {
    const eventId = await stack.db.createEvent(5);
    await book(eventId, 'bystander');
    const user = { authorization: `Bearer ${await tokenFor({ sub: 'bystander' })}` };
    const before = await eventRow(eventId);
    const calls: [string, string, unknown][] = [
      ['PATCH', `/api/events/${eventId}`, { total_seats: 50 }],
      ['POST', `/api/events/${eventId}/close-sales`, undefined],
      ['GET', `/api/events/${eventId}/bookings`, undefined],
    ];
    for (const [method, path, body] of calls) {
      for (const [headers, status] of [
        [{}, 401],
        [user, 403],
        [{ authorization: 'Bearer not-a-token' }, 401],
      ] as const) {
        const response = await stack.request(method, path, body, { ...headers, accept: 'text/csv' });
        expect(response.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(status);
        expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
      }
    }
    expect(await eventRow(eventId)).toEqual(before);
    expect(await updatesOf(eventId)).toBe(0);
  });
});

describe('GET /api/events, paged and filtered', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Every page of `query`, followed by its Link headers. */
  async function allPages(query: string): Promise<{ ids: number[]; pages: number }> {
    const ids: number[] = [];
    let pages = 0;
    let path: string | undefined = `/api/events?${query}`;
    while (path) {
      const page: ApiResponse = await stack.request('GET', path);
      expect(page.status, path).toBe(200);
      expect(Array.isArray(page.body)).toBe(true);
      pages++;
      ids.push(...page.body.map((event: { id: number }) => event.id));
      const link = page.headers.get('link');
      path = link ? /^<([^>]+)>/.exec(link)![1] : undefined;
    }
    return { ids, pages };
  }
  const idsWhere = async (condition: string) =>
    (await stack.db.query<{ id: number }>(`SELECT id FROM events WHERE ${condition} ORDER BY id`)).rows.map(
      (row) => row.id,
    );

  it('answers the plain list as ever, and pages and filters with parameters', async () => {
    // Three of each: on sale, started, not open yet, closed, sold out.
    for (let i = 0; i < 3; i++) {
      await stack.db.createEvent(5);
      await stack.db.query(
        `INSERT INTO events (name, total_seats, starts_at) VALUES ('started', 5, now() - interval '1 hour')`,
      );
      await stack.db.query(
        `INSERT INTO events (name, total_seats, sales_open_at) VALUES ('soon', 5, now() + interval '1 day')`,
      );
      await stack.db.query(
        `INSERT INTO events (name, total_seats, sales_close_at) VALUES ('over', 5, now() - interval '1 day')`,
      );
      const full = await stack.db.createEvent(1);
      await stack.db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [full, 'the-one']);
    }

    const plain = await stack.request('GET', '/api/events');
    expect(plain.status).toBe(200);
    expect(plain.body.map((event: { id: number }) => event.id)).toEqual(await idsWhere('true'));
    expect(plain.headers.get('link')).toBeNull();
    expect(plain.headers.get('next-cursor')).toBeNull();
    expect(plain.body[0]).toEqual({
      id: expect.any(Number),
      name: 'Test event',
      total_seats: 5,
      booked_seats: 0,
      available_seats: 5,
      starts_at: null,
      venue: null,
      description: null,
      sales_open_at: null,
      sales_close_at: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    const everything = await allPages('limit=4');
    expect(everything).toEqual({ ids: await idsWhere('true'), pages: 4 });
    const onSale =
      "event_sales_state(sales_open_at, sales_close_at, starts_at, now()) = 'open' AND booked_seats < total_seats";
    expect((await allPages('on_sale=true&limit=2')).ids).toEqual(await idsWhere(onSale));
    expect((await allPages('on_sale=false&limit=2')).ids).toEqual(await idsWhere(`NOT (${onSale})`));
    expect((await allPages('sold_out=true')).ids).toEqual(await idsWhere('booked_seats >= total_seats'));
    expect((await allPages('upcoming=true&limit=5')).ids).toEqual(
      await idsWhere('starts_at IS NULL OR starts_at > now()'),
    );
    expect((await allPages('upcoming=false')).ids).toEqual(await idsWhere('starts_at <= now()'));
    expect((await allPages('upcoming=true&sold_out=false&on_sale=true&limit=1')).ids).toEqual(await idsWhere(onSale));
    // Any parameter makes it a page, of 100 by default.
    expect((await stack.request('GET', '/api/events?limit=1')).body).toHaveLength(1);
    expect((await stack.request('GET', '/api/events?unknown=1')).body).toHaveLength(15);
  });
});
