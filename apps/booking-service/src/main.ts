import { runService } from '@booking/shared';
import { startBookingService } from './app.js';
import { loadBookingServiceConfig } from './config.js';

await runService(loadBookingServiceConfig, startBookingService);
