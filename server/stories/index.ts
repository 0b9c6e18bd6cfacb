export * from './model';
export * from './validate';
export * from './simulate';
export * from './compile-card';
export * from './compile-flow';
export * from './twee';
export { createStoriesApi, MAX_TWEE_BYTES, MAX_TWEE_PASSAGES, type StoriesApiOptions } from './routes';
