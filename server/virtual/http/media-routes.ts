import express, { type Request, type Router } from 'express';
import type { YotoDisplayIcon } from '../../yoto/rest/types';
import { VirtualHttpError } from './errors';
import type { StoredIcon, VirtualMediaStore } from './media/media-store';
import { param, queryString, requestOrigin } from './request-helpers';

const AUDIO_CONTENT_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', flac: 'audio/flac', m4a: 'audio/mp4',
};

/** The Yoto media endpoints (bearer-protected). */
export function mediaApiRoutes(media: VirtualMediaStore): Router {
  const router = express.Router();
  router.get('/media/displayIcons/user/yoto', (req, res) => {
    res.json({ displayIcons: media.publicIcons().map((icon) => describeIcon(req, icon)) });
  });
  router.get('/media/displayIcons/user/me', (req, res) => {
    res.json({ displayIcons: media.myIcons().map((icon) => describeIcon(req, icon)) });
  });
  router.post('/media/displayIcons/user/me/upload', express.raw({ type: () => true, limit: '5mb' }), async (req, res) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const filename = queryString(req, 'filename');
    const { icon, created } = await media.uploadIcon(bytes, {
      autoConvert: queryString(req, 'autoConvert') === 'true',
      ...(filename ? { filename } : {}),
    });
    res.json({ displayIcon: { ...describeIcon(req, icon), ...(created ? { new: true } : {}) } });
  });
  router.get('/media/transcode/audio/uploadUrl', (req, res) => {
    const { uploadId, signature } = media.requestAudioUpload(queryString(req, 'sha256'), queryString(req, 'filename'));
    const uploadUrl = signature === null ? null : `${requestOrigin(req)}/virtual/uploads/${uploadId}?signature=${encodeURIComponent(signature)}`;
    res.json({ upload: { uploadId, uploadUrl } });
  });
  router.get('/media/upload/:uploadId/transcoded', (req, res) => {
    const uploadId = param(req, 'uploadId');
    const transcode = media.transcodeStatus(uploadId);
    if (!transcode) throw VirtualHttpError.notFound(`upload ${uploadId}`);
    res.json({ transcode });
  });
  return router;
}

/**
 * What stands in for Yoto's storage and CDN: presigned upload URLs (no
 * bearer token, like S3's) and the icon and audio files.
 */
export function mediaStorageRoutes(media: VirtualMediaStore): Router {
  const router = express.Router();
  router.put('/virtual/uploads/:uploadId', express.raw({ type: () => true, limit: '200mb' }), async (req, res) => {
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    await media.receiveAudio(param(req, 'uploadId'), queryString(req, 'signature'), bytes, req.get('content-type'));
    res.status(200).end();
  });
  router.get('/virtual/media/icons/:mediaId', async (req, res) => {
    const icon = await media.iconBytes(param(req, 'mediaId'));
    if (!icon) throw VirtualHttpError.notFound('icon');
    res.type(icon.contentType).set('cache-control', 'public, max-age=86400').send(icon.bytes);
  });
  router.get('/virtual/media/audio/:transcodedSha256', async (req, res) => {
    const audio = await media.audioBytes(param(req, 'transcodedSha256'));
    if (!audio) throw VirtualHttpError.notFound('audio');
    res.type(AUDIO_CONTENT_TYPES[audio.format] ?? 'application/octet-stream').send(audio.bytes);
  });
  return router;
}

function describeIcon(req: Request, icon: StoredIcon): YotoDisplayIcon {
  return {
    displayIconId: icon.displayIconId,
    mediaId: icon.mediaId,
    userId: icon.userId,
    createdAt: icon.createdAt,
    url: `${requestOrigin(req)}/virtual/media/icons/${icon.mediaId}`,
    public: icon.public,
    ...(icon.title ? { title: icon.title } : {}),
    ...(icon.publicTags ? { publicTags: icon.publicTags } : {}),
  };
}
