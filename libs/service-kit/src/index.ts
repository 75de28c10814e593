export * from './database.module.js';
export * from './health.module.js';
export * from './service-app.js';
