import { databaseEnvSchema, loadConfig } from '@booking/shared';
import { connectDatabase, redactUrl } from './client.js';
import { migrateDatabase } from './migrations.js';
import { seedDemoEvent } from './seed.js';

/** `node dist/cli.js migrate|seed`: the database commands behind `pnpm db:migrate` and `pnpm db:seed`. */
async function main(command: string | undefined): Promise<void> {
  const { DATABASE_URL } = loadConfig(databaseEnvSchema);
  if (command === 'migrate') {
    await migrateDatabase(DATABASE_URL);
    console.log(`Migrations applied to ${redactUrl(DATABASE_URL)}`);
  } else if (command === 'seed') {
    const connection = connectDatabase(DATABASE_URL, { poolSize: 1, applicationName: 'seed' });
    try {
      const { id, created } = await seedDemoEvent(connection.db);
      console.log(created ? `Created demo event ${id}` : `Events exist already (first: ${id}); nothing seeded`);
    } finally {
      await connection.close();
    }
  } else {
    throw new Error(`Unknown command "${command ?? ''}"; use "migrate" or "seed"`);
  }
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
