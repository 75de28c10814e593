import { startGateway } from './app.js';
import { loadGatewayConfig } from './config.js';

await startGateway(loadGatewayConfig());
