import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import busboy from 'busboy';
import { ApiError } from '../http/api-error';

/** A file received into the incoming folder; the caller owns `tempPath` (rename it or remove it). */
export interface ReceivedUpload {
  tempPath: string;
  size: number;
  sha256: string;
  /** The file name the client sent, unsanitized (may be undefined). */
  clientFileName: string | undefined;
  /** The optional `title` form field. */
  title: string | undefined;
}

export interface ReceiveOptions {
  /** Folder for the partial file, e.g. `<dataDir>/audio/.incoming`. */
  incomingDir: string;
  maxBytes: number;
  /** The form field holding the file. */
  fileField?: string;
}

const MAX_TITLE_BYTES = 4096;

/** An error carrying `status`/`code` that also tells the caller the request body was not read to its end. */
export class UploadRejected extends ApiError {
  readonly bodyUnread = true;
}

/**
 * Streams one multipart file field to a temporary file (never holding the
 * file in memory), with its SHA-256, enforcing `maxBytes` while streaming.
 * On any failure (too large, malformed, client gone) the partial file is
 * removed before the promise rejects.
 */
export function receiveUpload(req: IncomingMessage, options: ReceiveOptions): Promise<ReceivedUpload> {
  const fileField = options.fileField ?? 'file';
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      limits: { fileSize: options.maxBytes + 1, files: 1, fields: 20, fieldSize: MAX_TITLE_BYTES, parts: 30 },
    });
  } catch {
    return Promise.reject(new ApiError(400, 'invalid_upload', 'send the file as multipart/form-data with a "file" field'));
  }

  return new Promise<ReceivedUpload>((resolve, reject) => {
    let settled = false;
    let title: string | undefined;
    let received: Omit<ReceivedUpload, 'title'> | undefined;
    let fileSeen = false;
    let writing: Promise<void> | undefined;
    let tempPath: string | undefined;
    let fileStream: Readable | undefined;
    let writer: fs.WriteStream | undefined;

    const removeTemp = async (): Promise<void> => {
      if (writer && !writer.closed) await new Promise<void>((done) => writer!.destroy().once('close', () => done()));
      if (tempPath) await fsp.rm(tempPath, { force: true });
    };

    const fail = (error: ApiError): void => {
      if (settled) return;
      settled = true;
      cleanupListeners();
      req.unpipe(parser);
      // Not inside busboy's own callbacks (it still touches the file stream after emitting 'limit').
      process.nextTick(() => {
        fileStream?.destroy();
        parser.destroy();
      });
      void removeTemp().then(() => reject(error), () => reject(error));
    };

    const finish = (): void => {
      if (settled) return;
      if (!fileSeen) {
        fail(new ApiError(400, 'invalid_upload', `the form has no "${fileField}" file field`));
        return;
      }
      void writing!.then(() => {
        if (settled) return;
        settled = true;
        cleanupListeners();
        resolve({ ...received!, title });
      }, (error: unknown) => fail(new ApiError(500, 'upload_failed', `could not store the upload: ${error instanceof Error ? error.message : String(error)}`)));
    };

    const onRequestClose = (): void => {
      if (!req.complete) fail(new UploadRejected(400, 'upload_aborted', 'the client closed the connection during the upload'));
    };
    const onRequestError = (): void => fail(new UploadRejected(400, 'upload_aborted', 'the upload broke off'));
    const cleanupListeners = (): void => {
      req.off('close', onRequestClose);
      req.off('error', onRequestError);
    };
    req.on('close', onRequestClose);
    req.on('error', onRequestError);

    parser.on('field', (name, value) => {
      if (name === 'title') title = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== fileField || fileSeen) {
        stream.resume();
        return;
      }
      fileSeen = true;
      fileStream = stream;
      stream.on('error', () => undefined); // reported through the pipe below or superseded by fail()
      tempPath = path.join(options.incomingDir, `${randomUUID()}.part`);
      const hash = createHash('sha256');
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      stream.once('limit', () => {
        fail(new UploadRejected(413, 'file_too_large', `the file is larger than the limit of ${options.maxBytes} bytes`));
      });
      const out = fs.createWriteStream(tempPath, { flags: 'wx' });
      writer = out;
      const clientFileName = info.filename;
      out.once('error', (error) => fail(new ApiError(500, 'upload_failed', `could not store the upload: ${error.message}`)));
      writing = new Promise<void>((done, failed) => {
        out.once('error', failed);
        out.once('close', () => {
          if (!out.writableFinished) return;
          received = { tempPath: tempPath!, size, sha256: hash.digest('hex'), clientFileName };
          done();
        });
        stream.once('error', failed);
        stream.pipe(counter).pipe(out);
      });
      // A write error is reported through finish(); keep it from being unhandled meanwhile.
      writing.catch(() => undefined);
    });
    parser.on('error', (error: unknown) => {
      fail(new UploadRejected(400, 'invalid_upload', `the multipart body is malformed: ${error instanceof Error ? error.message : String(error)}`));
    });
    parser.once('close', finish);
    req.pipe(parser);
  });
}
