import { startBookingService } from './app.js';
import { loadBookingServiceConfig } from './config.js';

await startBookingService(loadBookingServiceConfig());
