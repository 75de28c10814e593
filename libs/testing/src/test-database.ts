import { randomBytes } from 'node:crypto';
import { connectDatabase, migrateDatabase, type DatabaseConnection } from '@booking/database';
import pg from 'pg';
import { testRunOwner } from './test-run.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * A freshly migrated database of its own for one test file, dropped afterwards; named after the test run
 * that owns it (booking_test_<owner pid>_…), so that an interrupted run's databases can be found.
 */
export class TestDatabase {
  private constructor(
    readonly url: string,
    readonly connection: DatabaseConnection,
    private readonly adminUrl: string,
  ) {}

  /** On the shared server, or on the one `adminUrl` (a superuser's URL of its `postgres` database) leads to. */
  static async create(adminUrl = ADMIN_URL): Promise<TestDatabase> {
    const url = new URL(adminUrl);
    url.pathname = `/booking_test_${testRunOwner()}_${randomBytes(4).toString('hex')}`;
    await migrateDatabase(url.toString());
    return new TestDatabase(
      url.toString(),
      connectDatabase(url.toString(), { poolSize: 4, applicationName: 'test' }),
      adminUrl,
    );
  }

  query<T extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<T>> {
    return this.connection.pool.query<T>(text, values);
  }

  async count(table: 'bookings' | 'events', where = 'true', values: unknown[] = []): Promise<number> {
    const { rows } = await this.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, values);
    return Number(rows[0]!.n);
  }

  async createEvent(totalSeats: number, name = 'Test event'): Promise<number> {
    const { rows } = await this.query<{ id: number }>(
      'INSERT INTO events (name, total_seats) VALUES ($1, $2) RETURNING id',
      [name, totalSeats],
    );
    return rows[0]!.id;
  }

  async drop(): Promise<void> {
    await this.connection.close();
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      await admin.query(
        `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(this.url).pathname.slice(1))} WITH (FORCE)`,
      );
    } finally {
      await admin.end();
    }
  }
}
