export * from './authorizer';
export * from './code';
export * from './edge';
export { L42Errors, L42ValidationError } from './errors';
export * from './jwks';
export * from './stack';
export * from './token-handler';
