import { RetentionJob, retentionSettings, type DatabaseConnection } from '@booking/database';
import { Logger, type Provider } from '@nestjs/common';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { DATABASE } from '@booking/service-kit';

/**
 * Deletes the outbox's oldest rows, walking the `position` index: the rows at
 * the head of the outbox up to the first one that is recent or not yet
 * published. So the outbox always holds every event from its first row on
 * (`events:replay` relies on that), an unpublished row is never lost, and a
 * batch reads at most $2 index entries, however long the outbox (the first
 * row not due is found once per batch, not once per row). Positions
 * follow commit order up to the length of a transaction, so the walk by
 * position deletes by age.
 */
export const OUTBOX_RETENTION_SQL = `
  WITH head AS (
    SELECT o.position,
           o.occurred_at < $1 AND NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.position = o.position) AS due
      FROM outbox o ORDER BY o.position LIMIT $2
  )
  DELETE FROM outbox
   WHERE position IN (
     SELECT position FROM head
      WHERE position < COALESCE((SELECT min(position) FROM head WHERE NOT due), 9223372036854775807))`;

export const outboxRetentionProvider: Provider = {
  provide: RetentionJob,
  inject: [BOOKING_SERVICE_CONFIG, DATABASE],
  useFactory: (config: BookingServiceConfig, database: DatabaseConnection) =>
    new RetentionJob(
      database.pool,
      'outbox retention',
      OUTBOX_RETENTION_SQL,
      retentionSettings(config, config.OUTBOX_RETENTION),
      new Logger('OutboxRetention'),
    ),
};
