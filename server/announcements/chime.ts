import * as path from 'node:path';
import express, { type Router } from 'express';
import { parseFile } from 'music-metadata';
import { assetsDir } from '../paths';
import { trimEndChar } from '../text/trim';
import type { AnnouncementAudio } from './announcement-card';

/** The built-in chime shipped with the package (scripts/make-chime.mjs makes it). */
export const CHIME_FILE = path.join(assetsDir, 'chime.mp3');
/** Where the hub serves it, at the server root (players send no session; the chime is no secret). */
export const CHIME_PATH = '/announcements/chime.mp3';

/**
 * The built-in chime an announcement may start with (`chime: true`): a short
 * MP3 in assets/, served at {@link CHIME_PATH} for the players to stream.
 */
export class BuiltInChime {
  private duration: Promise<number> | undefined;

  /** `baseUrl`: the address players reach the hub at (its public URL, else its own), read each time. */
  constructor(private readonly baseUrl: () => string) {}

  /** The chime as a track of an announcement's card. */
  async audio(): Promise<AnnouncementAudio> {
    this.duration ??= parseFile(CHIME_FILE, { duration: true }).then((metadata) => metadata.format.duration ?? 1);
    return { title: 'Chime', url: `${trimEndChar(this.baseUrl(), '/')}${CHIME_PATH}`, format: 'mp3', durationSeconds: await this.duration };
  }

  /** Serves the chime (with HTTP Range, as players ask): mount with `http.mountRoot('/announcements', ...)`. */
  router(): Router {
    const router = express.Router();
    router.get('/chime.mp3', (_req, res, next) => {
      res.sendFile(CHIME_FILE, { headers: { 'Content-Type': 'audio/mpeg', 'Cache-Control': 'public, max-age=86400' } }, (error) => {
        if (error) next(error);
      });
    });
    return router;
  }
}
