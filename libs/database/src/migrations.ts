import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { connectDatabase, ensureDatabaseExists } from './client.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

/** Creates the database if needed and applies every pending migration. Safe to run concurrently and repeatedly. */
export async function migrateDatabase(url: string): Promise<void> {
  await ensureDatabaseExists(url);
  const connection = connectDatabase(url, { poolSize: 1, applicationName: 'migrate' });
  try {
    await migrate(connection.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await connection.close();
  }
}
