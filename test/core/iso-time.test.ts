import { expect } from 'chai';
import { isoTime } from '../../server/time/clock';

describe('isoTime: the ISO 8601 text of a time, remembering the last millisecond', () => {
  it('says what toISOString says, for the same millisecond again and for the next ones', () => {
    const times = [1_794_999_999_000, 1_794_999_999_000, 1_794_999_999_001, 0, 1_794_999_999_001, -1];
    expect(times.map((ms) => isoTime(new Date(ms)))).to.deep.equal(times.map((ms) => new Date(ms).toISOString()));
  });

  it('refuses an invalid date as toISOString does', () => {
    expect(() => isoTime(new Date(Number.NaN))).to.throw(RangeError);
  });
});
