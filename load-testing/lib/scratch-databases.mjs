// Databases of a measurement script's own, named after it and its process, dropped at the end and on
// Ctrl-C or SIGTERM, so that an interrupted run leaves nothing behind.
import pg from 'pg';

const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** One URL per name (`booking_<prefix>_<pid>_<name>`), and `drop()`, also run when the process is interrupted. */
export function scratchDatabases(prefix, names) {
  const urls = names.map((name) => {
    const url = new URL(ADMIN_URL);
    url.pathname = `/booking_${prefix}_${process.pid}_${name}`;
    return url.toString();
  });
  async function drop() {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      for (const url of urls) {
        await admin.query(
          `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(url).pathname.slice(1))} WITH (FORCE)`,
        );
      }
    } finally {
      await admin.end();
    }
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => void drop().finally(() => process.exit(130)));
  }
  return { adminUrl: ADMIN_URL, urls, drop };
}
