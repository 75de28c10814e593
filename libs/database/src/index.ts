export * from './client.js';
export * from './migrations.js';
export * from './schema.js';
export * from './seed.js';
export * from './channels.js';
export * from './retention.js';
export * from './read-replica.js';
