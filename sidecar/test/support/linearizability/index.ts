/** Linearizability testing: record a history, pick a model, check it. See checker.ts. */
export * from './history.js';
export * from './model.js';
export * from './models.js';
export * from './checker.js';
export * from './generate.js';
