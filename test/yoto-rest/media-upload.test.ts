import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { encodePng } from '../../server/virtual/http/media/png';
import { YotoApiError } from '../../server/yoto/rest/errors';
import { fixture, useSignedInRig } from './cloud-harness';

/** Width and height straight from the header bytes: PNG IHDR (big-endian) or GIF logical screen (little-endian). */
function headerSize(bytes: Buffer): { width: number; height: number } {
  if (bytes.toString('latin1', 1, 4) === 'PNG') return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.toString('latin1', 0, 3) === 'GIF') return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  throw new Error('not a PNG or GIF');
}

describe('Yoto media: icons and the audio upload flow', function () {
  const signedIn = useSignedInRig('suite');

  describe('display icons', () => {
    it('accepts a 16x16 PNG and a 16x16 GIF as they are, and refers to them as yoto:#<mediaId>', async () => {
      const png = fixture('twine-spyshort', 'icons', 'SolveRiddle.png');
      const gif = fixture('twine-spyshort', 'icons', 'Start.gif');
      expect(headerSize(png)).to.deep.equal({ width: 16, height: 16 });
      expect(headerSize(gif)).to.deep.equal({ width: 16, height: 16 });

      const pngIcon = await signedIn.adapter.api.uploadIcon(png, { autoConvert: false, filename: 'SolveRiddle' });
      const gifIcon = await signedIn.adapter.api.uploadIcon(gif, { autoConvert: false, filename: 'Start' });
      expect(pngIcon.new).to.equal(true);
      expect(pngIcon.iconRef).to.equal(`yoto:#${pngIcon.mediaId}`);
      expect(gifIcon.mediaId).to.not.equal(pngIcon.mediaId);

      const served = await fetch(pngIcon.url);
      expect(served.headers.get('content-type')).to.equal('image/png');
      expect(Buffer.from(await served.arrayBuffer()).equals(png)).to.equal(true);
      const mine = await signedIn.adapter.api.listMyIcons();
      expect(mine.map((icon) => icon.mediaId)).to.include.members([pngIcon.mediaId, gifIcon.mediaId]);
    });

    it('gives the same icon back for the same image', async () => {
      const png = fixture('twine-spyshort', 'icons', 'SolveRiddle.png');
      const first = await signedIn.adapter.api.uploadIcon(png, { autoConvert: false });
      const again = await signedIn.adapter.api.uploadIcon(png, { autoConvert: false });
      expect(again.mediaId).to.equal(first.mediaId);
      expect(again.displayIconId).to.equal(first.displayIconId);
      expect(again.new).to.equal(undefined);
    });

    it('refuses an image that is not 16x16 unless autoConvert is on', async () => {
      const big = encodePng(32, 24, () => [200, 40, 40, 255]);
      expect(headerSize(big)).to.deep.equal({ width: 32, height: 24 });
      const error = await signedIn.adapter.api.uploadIcon(big, { autoConvert: false }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(YotoApiError);
      expect(error).to.include({ status: 400, code: 'invalid_icon' });
      expect((error as Error).message).to.contain('the icon is 32x24; without autoConvert=true it must be exactly 16x16');

      const converted = await signedIn.adapter.api.uploadIcon(big, { autoConvert: true });
      expect(converted.iconRef).to.match(/^yoto:#[A-Za-z0-9_-]{43}$/);
    });

    it('refuses bytes that are no image at all, even with autoConvert', async () => {
      const error = await signedIn.adapter.api.uploadIcon(Buffer.from('hello'), { autoConvert: true }).catch((e: unknown) => e);
      expect(error).to.include({ status: 400, code: 'invalid_icon' });
    });

    it('lists public icons that load as 16x16 PNGs', async () => {
      const icons = await signedIn.adapter.api.listPublicIcons();
      expect(icons.length).to.be.greaterThan(0);
      expect(icons.every((icon) => icon.userId === 'yoto' && icon.public === true)).to.equal(true);
      const bytes = Buffer.from(await (await fetch(icons[0]!.url)).arrayBuffer());
      expect(headerSize(bytes)).to.deep.equal({ width: 16, height: 16 });
    });
  });

  describe('audio', () => {
    it('uploads an MP3, waits for the transcode and returns what a track needs; the second upload sends nothing', async () => {
      const mp3 = fixture('twine-spyshort', 'audio', 'Start.mp3');
      const sha256 = createHash('sha256').update(mp3).digest('hex');
      const first = await signedIn.adapter.api.uploadAudio(mp3, { filename: 'Start.mp3' });
      expect(first).to.include({ sha256, alreadyUploaded: false, duration: 4, fileSize: mp3.length, format: 'mp3', channels: 'mono' });
      expect(first.trackUrl).to.equal(`yoto:#${first.transcodedSha256}`);
      expect(signedIn.adapter.waits.length, 'it polled while the transcode ran').to.be.greaterThan(0);
      expect(signedIn.rig.cloud.media.uploadContentType(first.uploadId), 'the bytes went to the presigned URL as audio/mpeg, as the working clients send them').to.equal('audio/mpeg');

      // Yoto already has these bytes: a null uploadUrl, no PUT, the same transcoded audio.
      const uploadUrl = (await (await fetch(`${signedIn.rig.cloud.url}/media/transcode/audio/uploadUrl?sha256=${sha256}&filename=Start.mp3`, {
        headers: { authorization: `Bearer ${await signedIn.adapter.tokens.getAccessToken()}` },
      })).json()) as { upload: { uploadId: string; uploadUrl: string | null } };
      expect(uploadUrl.upload.uploadUrl).to.equal(null);
      const second = await signedIn.adapter.api.uploadAudio(mp3, { filename: 'Start.mp3' });
      expect(second).to.include({ alreadyUploaded: true, transcodedSha256: first.transcodedSha256, duration: 4 });

      const card = await signedIn.adapter.api.saveCard({
        title: 'Spy start',
        content: { chapters: [{ key: '01', title: 'Start', tracks: [{ key: '01', title: 'Start', type: 'audio', format: 'mp3', trackUrl: first.trackUrl, duration: first.duration! }] }] },
      });
      expect(card.content.chapters[0]!.tracks[0]!.trackUrl).to.equal(first.trackUrl);
    });

    it('the upload URL takes only the bytes it was issued for, and only with its signature', async () => {
      const solve = new Uint8Array(fixture('twine-spyshort', 'audio', 'SolveRiddle.mp3'));
      const sha256 = createHash('sha256').update(solve).digest('hex');
      const answer = (await (await fetch(`${signedIn.rig.cloud.url}/media/transcode/audio/uploadUrl?sha256=${sha256}&filename=SolveRiddle.mp3`, {
        headers: { authorization: `Bearer ${await signedIn.adapter.tokens.getAccessToken()}` },
      })).json()) as { upload: { uploadUrl: string } };
      const wrongBytes = await fetch(answer.upload.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body: new Uint8Array(fixture('twine-spyshort', 'audio', 'Start.mp3')) });
      expect(wrongBytes.status).to.equal(400);
      expect(((await wrongBytes.json()) as { error: { code: string } }).error.code).to.equal('bad_digest');
      const forged = new URL(answer.upload.uploadUrl);
      forged.searchParams.set('signature', 'forged');
      const refused = await fetch(forged, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body: solve });
      expect(refused.status).to.equal(403);
      // The URL is signed for audio/mpeg: the file extension's type (or none) fails the signature, as on S3.
      for (const type of ['audio/mp4', 'application/octet-stream']) {
        const wrongType = await fetch(answer.upload.uploadUrl, { method: 'PUT', headers: { 'content-type': type }, body: solve });
        expect(wrongType.status, type).to.equal(403);
      }
      expect((await fetch(answer.upload.uploadUrl, { method: 'PUT', headers: { 'content-type': 'audio/mpeg' }, body: solve })).status).to.equal(200);
    });

    it('refuses an upload URL request without a proper sha256', async () => {
      const response = await fetch(`${signedIn.rig.cloud.url}/media/transcode/audio/uploadUrl?sha256=abc`, {
        headers: { authorization: `Bearer ${await signedIn.adapter.tokens.getAccessToken()}` },
      });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).to.equal('invalid_sha256');
    });

    it('reports a file Yoto cannot transcode as a failed upload', async () => {
      const error = await signedIn.adapter.api.uploadAudio(Buffer.from('this is not audio at all'), { filename: 'notes.m4a' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).name).to.equal('YotoUploadError');
      expect((error as Error).message).to.contain('could not transcode');
    });
  });
});
