export * from './authorizer';
export * from './code';
export * from './edge';
export { L42Errors } from './errors';
export * from './jwks';
export * from './token-handler';
