import { runService } from '@booking/shared';
import { startNotificationService } from './app.js';
import { loadNotificationServiceConfig } from './config.js';

await runService(loadNotificationServiceConfig, startNotificationService);
