import { startNotificationService } from './app.js';
import { loadNotificationServiceConfig } from './config.js';

await startNotificationService(loadNotificationServiceConfig());
