/** The operator's API: CRD types, names, defaulting and condition helpers (all pure). */
export * from './constants.js';
export * from './conditions.js';
export * from './resource.js';
export * from './names.js';
export * from './cluster-types.js';
export * from './cluster-defaults.js';
export * from './collection-types.js';
export * from './collection-defaults.js';
