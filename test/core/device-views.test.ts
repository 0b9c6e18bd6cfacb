import { expect } from 'chai';
import { applyEvents, applyStatus } from '../../server/core/state-merge';
import { initialState } from '../../server/core/device-state';
import { playbackPayload, statusPayload, viewPayloadJson } from '../../server/core/device-views';

const AT = new Date('2026-12-04T19:30:00.123Z');

/** A player never heard from, and one that has said everything a status and its events carry. */
function states() {
  const fresh = initialState('kids0mini', AT, { deviceId: 'kids0mini', name: 'Kids "Mini"', deviceType: 'mini', online: true });
  const heard = applyEvents(
    applyStatus(fresh, { batteryLevel: 64, charging: true, fwVersion: 'v2.23.2', nightlightMode: '0x194a55', day: 0, userVolume: 40 }),
    { cardId: 'abc12', chapterKey: '01', chapterTitle: 'Über den Wolken', trackKey: '01', position: 12, trackLength: 300, playbackStatus: 'playing', volume: 8, volumeMax: 16 },
  );
  return { fresh, heard, offline: { ...heard, online: false, offlineSince: AT.toISOString() } };
}

describe('device views as JSON text: what the home broker and the WebSocket send', () => {
  for (const [name, state] of Object.entries(states())) {
    it(`is JSON.stringify of the status and playback payloads, timestamp last (${name} player)`, () => {
      expect(viewPayloadJson(state, 'status', AT)).to.equal(JSON.stringify(statusPayload(state, AT)));
      expect(viewPayloadJson(state, 'playback', AT)).to.equal(JSON.stringify(playbackPayload(state, AT)));
      // The view's text is kept for the state; a later time changes only the timestamp.
      const later = new Date(AT.getTime() + 1000);
      expect(JSON.parse(viewPayloadJson(state, 'playback', later))).to.deep.equal(playbackPayload(state, later));
    });
  }
});
