/**
 * An S3-compatible server (s3rver, test/helpers/s3.ts) in its own process, as
 * MinIO or S3 would be: the bench's hub does not share its event loop. Sends
 * `{url}` (the YOTO_OBJECT_STORE_URL of its bucket) once listening; stops when
 * the parent disconnects.
 */
import { startS3 } from '../test/helpers/s3';

void startS3().then((server) => {
  process.send?.({ url: server.url });
  process.on('disconnect', () => {
    void server.stop().then(() => process.exit(0));
  });
}, (error: unknown) => {
  process.stderr.write(`s3 server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
