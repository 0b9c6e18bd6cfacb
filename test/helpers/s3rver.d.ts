/** The part of s3rver (an S3-compatible server for tests, untyped on npm) that test/helpers/s3.ts uses. */
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string }>;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Listens; resolves with the bound address. */
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** The listening server once run() resolved. */
    httpServer: Server;
  }

  export = S3rver;
}
