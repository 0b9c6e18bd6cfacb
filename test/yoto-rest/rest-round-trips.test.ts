import { expect } from 'chai';
import { YotoApiError } from '../../server/yoto/rest/errors';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { useSignedInRig } from './cloud-harness';
import { interactiveCard, linearCard, streamTrack } from './sample-cards';
import { rejectionOf } from '../helpers/rejection';

const refusal = (promise: Promise<unknown>): Promise<YotoApiError> => rejectionOf(promise, YotoApiError);

describe('Yoto REST client against the virtual cloud', function () {
  const signedIn = useSignedInRig('suite');

  describe('players', () => {
    const livingRoom = DEFAULT_VIRTUAL_PLAYERS[0]!.deviceId;

    it('lists the account\'s players with id, name, online, type and family', async () => {
      const devices = await signedIn.adapter.api.listDevices();
      expect(devices.map(({ deviceId, name, online, deviceType, deviceFamily }) => ({ deviceId, name, online, deviceType, deviceFamily }))).to.deep.equal([
        { deviceId: 'vliving0room0yoto0player', name: 'Living Room', online: true, deviceType: 'v3', deviceFamily: 'v3' },
        { deviceId: 'vkids0bedroom0yoto0mini0', name: 'Kids Bedroom', online: true, deviceType: 'mini', deviceFamily: 'mini' },
      ]);
    });

    it('changes one setting at a time without losing the others (read, merge, write)', async () => {
      await signedIn.adapter.api.updateDeviceConfig(livingRoom, { maxVolumeLimit: '8' });
      await signedIn.adapter.api.updateDeviceConfig(livingRoom, { nightTime: '20:15' });
      const device = await signedIn.adapter.api.getDeviceConfig(livingRoom);
      expect(device.config).to.include({ maxVolumeLimit: '8', nightTime: '20:15', dayTime: '07:00' });
      expect(device.deviceId).to.equal(livingRoom);
    });

    it('queues concurrent updates to one player so neither is lost', async () => {
      await Promise.all([
        signedIn.adapter.api.updateDeviceConfig(livingRoom, { ambientColour: '#ff0000' }),
        signedIn.adapter.api.updateDeviceConfig(livingRoom, { nightAmbientColour: '#0000ff' }),
      ]);
      const { config } = await signedIn.adapter.api.getDeviceConfig(livingRoom);
      expect(config).to.include({ ambientColour: '#ff0000', nightAmbientColour: '#0000ff' });
    });

    it('a bare PUT replaces the whole block: settings left out go back to their defaults', async () => {
      await signedIn.adapter.api.updateDeviceConfig(livingRoom, { maxVolumeLimit: '8' });
      await signedIn.adapter.api.putDeviceConfig(livingRoom, { config: { nightTime: '21:00' } });
      const { config } = await signedIn.adapter.api.getDeviceConfig(livingRoom);
      expect(config).to.include({ nightTime: '21:00', maxVolumeLimit: '16' });
    });

    it('renames a player through the config name', async () => {
      const kids = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;
      await signedIn.adapter.api.updateDeviceConfig(kids, {}, 'Nursery');
      const devices = await signedIn.adapter.api.listDevices();
      expect(devices.find((device) => device.deviceId === kids)).to.include({ name: 'Nursery', hasUserGivenName: true });
    });

    it('refuses out-of-range and unknown settings, naming the setting', async () => {
      const tooLoud = await refusal(signedIn.adapter.api.updateDeviceConfig(livingRoom, { maxVolumeLimit: '17' }));
      expect(tooLoud).to.include({ status: 400, code: 'invalid_config' });
      expect(tooLoud.message).to.contain('config.maxVolumeLimit must be from 0 to 16');
      const badTime = await refusal(signedIn.adapter.api.updateDeviceConfig(livingRoom, { dayTime: '7am' }));
      expect(badTime.message).to.contain('config.dayTime');
      const unknown = await refusal(signedIn.adapter.api.putDeviceConfig(livingRoom, { config: { volumeKnob: '3' } as never }));
      expect(unknown.message).to.contain('config.volumeKnob is not a setting');
    });

    it('answers 404 for a player that is not on the account', async () => {
      const error = await refusal(signedIn.adapter.api.getDeviceConfig('not-a-player'));
      expect(error).to.include({ status: 404, code: 'not_found' });
    });
  });

  describe('MYO cards', () => {
    it('creates, reads, lists, updates and deletes a card', async () => {
      const created = await signedIn.adapter.api.saveCard(linearCard());
      expect(created.cardId).to.match(/^[A-Za-z0-9]{5}$/);
      expect(created.content.chapters).to.have.length(2);

      const fetched = await signedIn.adapter.api.getCard(created.cardId);
      expect(fetched.title).to.equal('Bedtime stories');
      expect(fetched.content.chapters[1]!.tracks[0]!.trackUrl).to.equal('https://hub.example.net/stream/01.mp3');

      const listed = await signedIn.adapter.api.listMyCards();
      const summary = listed.find((card) => card.cardId === created.cardId);
      expect(summary?.title).to.equal('Bedtime stories');
      expect(summary?.content, '/content/mine lists cards without chapters').to.not.have.property('chapters');

      await signedIn.rig.clock.advance(60_000);
      const updated = await signedIn.adapter.api.saveCard({ ...linearCard('Bedtime stories (new)'), cardId: created.cardId });
      expect(updated.cardId).to.equal(created.cardId);
      expect(updated.createdAt).to.equal(created.createdAt);
      expect(Date.parse(updated.updatedAt!) - Date.parse(created.updatedAt!)).to.equal(60_000);
      expect((await signedIn.adapter.api.getCard(created.cardId)).title).to.equal('Bedtime stories (new)');

      await signedIn.adapter.api.deleteCard(created.cardId);
      expect((await refusal(signedIn.adapter.api.getCard(created.cardId))).status).to.equal(404);
      expect((await signedIn.adapter.api.listMyCards()).some((card) => card.cardId === created.cardId)).to.equal(false);
    });

    it('keeps an interactive card\'s branches as sent', async () => {
      const card = await signedIn.adapter.api.saveCard(interactiveCard());
      const stored = await signedIn.adapter.api.getCard(card.cardId);
      expect(stored.content.chapters[0]!.tracks[0]!.events?.onRhb).to.deep.equal({ cmd: 'goto', params: { chapterKey: '01', trackKey: '03' } });
    });

    it('refuses a card with a schema error, naming the field', async () => {
      const card = linearCard();
      card.content.chapters[0]!.tracks[0] = { ...streamTrack('01', 'Owl'), type: 'video' as never };
      const error = await refusal(signedIn.adapter.api.saveCard(card));
      expect(error).to.include({ status: 400, code: 'invalid_card' });
      expect(error.message).to.contain('content.chapters[0].tracks[0].type: must be one of "audio", "stream" (got "video")');
      const untitled = await refusal(signedIn.adapter.api.saveCard({ ...linearCard(), title: '' }));
      expect(untitled.message).to.contain('title: must not be empty');
    });

    it('refuses keys that lost their zero padding, and duplicate keys', async () => {
      const unpadded = linearCard();
      unpadded.content.chapters[1]!.key = '2';
      const error = await refusal(signedIn.adapter.api.saveCard(unpadded));
      expect(error.message).to.contain('content.chapters[1].key: "2" is not zero-padded like the other keys (expected "02")');

      const duplicate = linearCard();
      duplicate.content.chapters[1]!.key = '01';
      expect((await refusal(signedIn.adapter.api.saveCard(duplicate))).message).to.contain('content.chapters[1].key: "01" is already the key of content.chapters[0]');
    });

    it('refuses a goto to a track that does not exist', async () => {
      const card = interactiveCard();
      card.content.chapters[0]!.tracks[0]!.events!.onLhb = { cmd: 'goto', params: { chapterKey: '01', trackKey: '09' } };
      const error = await refusal(signedIn.adapter.api.saveCard(card));
      expect(error.message).to.contain('content.chapters[0].tracks[0].events.onLhb.params.trackKey: goes to track "09", which chapter "01" does not have');
    });

    it('refuses to update a card id that does not exist', async () => {
      const error = await refusal(signedIn.adapter.api.saveCard({ ...linearCard(), cardId: 'ZZZZ9' }));
      expect(error).to.include({ status: 404, code: 'not_found' });
    });
  });
});
