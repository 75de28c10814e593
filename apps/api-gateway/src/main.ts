import { runService } from '@booking/shared';
import { startGateway } from './app.js';
import { loadGatewayConfig } from './config.js';

await runService(loadGatewayConfig, startGateway);
