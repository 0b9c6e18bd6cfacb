import { expect } from 'chai';
import { topicMatches } from '../../server/broker/topic-filter';

describe('MQTT topic filters', () => {
  const cases: Array<[string, string, boolean]> = [
    ['yoto/+/commands', 'yoto/abc/commands', true],
    ['yoto/+/commands', 'yoto/abc/status', false],
    ['yoto/+/commands', 'yoto/abc/commands/extra', false],
    ['yoto/#', 'yoto/abc/status', true],
    ['yoto/#', 'yoto', true],
    ['device/+/data/#', 'device/y2iYT7ItkMRWbuMzTDuGjgmS/data/events', true],
    ['device/+/data/#', 'device/y2iYT7ItkMRWbuMzTDuGjgmS/status', false],
    ['#', 'anything/at/all', true],
    ['yoto/broadcast/announcements', 'yoto/broadcast/announcements', true],
  ];
  for (const [filter, topic, expected] of cases) {
    it(`${filter} ${expected ? 'matches' : 'does not match'} ${topic}`, () => {
      expect(topicMatches(filter, topic)).to.equal(expected);
    });
  }
});
