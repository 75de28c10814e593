import { RetentionJob, retentionSettings, type DatabaseConnection } from '@booking/database';
import { Logger, type Provider } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from '../config.js';
import { DATABASE } from '@booking/service-kit';

/**
 * Deletes the oldest received events with their deliveries (the foreign key
 * cascades), except an event with a delivery still pending: it is resumed
 * when the event comes again, and must not be taken for a new one then.
 */
export const NOTIFICATION_RETENTION_SQL = `
  DELETE FROM notifications.received_events
   WHERE event_id IN (
     SELECT r.event_id FROM notifications.received_events r
      WHERE r.received_at < $1
        AND NOT EXISTS (
          SELECT 1 FROM notifications.deliveries d WHERE d.event_id = r.event_id AND d.status = 'pending'
        )
      ORDER BY r.received_at LIMIT $2
   )`;

export const notificationRetentionProvider: Provider = {
  provide: RetentionJob,
  inject: [NOTIFICATION_SERVICE_CONFIG, DATABASE],
  useFactory: (config: NotificationServiceConfig, database: DatabaseConnection) =>
    new RetentionJob(
      database.pool,
      'notification retention',
      NOTIFICATION_RETENTION_SQL,
      retentionSettings(config, config.NOTIFICATION_RETENTION),
      new Logger('NotificationRetention'),
    ),
};
