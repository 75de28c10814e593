export * from './free-port.js';
export * from './nats-server.js';
export * from './test-database.js';
export * from './system-command.js';
export * from './redis-server.js';
export * from './prometheus-server.js';
export * from './tcp-proxy.js';
export * from './wait.js';
