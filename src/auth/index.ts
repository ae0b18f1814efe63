// Authentication and authorization for the front-ends: the role table, the
// permission every RPC needs, and bearer tokens. Pure building blocks; the
// server's interceptor wires them to the replicated principals and keys.

export * from './roles.js';
export * from './permissions.js';
export * from './tokens.js';
