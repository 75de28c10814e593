export * from './config.js';
export * from './contracts.js';
export * from './correlation-id.js';
export * from './errors.js';
export * from './schemas.js';
export * from './subjects.js';
export * from './booking-events.js';
export * from './booking-events-stream.js';
