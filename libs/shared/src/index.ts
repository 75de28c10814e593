export * from './config.js';
export * from './contracts.js';
export * from './errors.js';
export * from './schemas.js';
export * from './subjects.js';
