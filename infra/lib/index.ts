export * from './authorizer';
export * from './code';
export * from './edge';
export * from './jwks';
export * from './stack';
export * from './token-handler';
