import { expect } from 'chai';
import { HubConfigError, resolveHubOptions } from '../../server/config/hub-options';
import { mergeSavedSettings } from '../../server/config/saved-config';
import { getValidator } from '../../server/validation';
import { startTestHub, stopTestHub } from '../helpers/test-hub';

describe('text to speech settings', function () {
  this.timeout(60_000);

  it('defaults to espeak in English with a 30-day cache, and reads YOTO_TTS_* for blank settings', () => {
    expect(resolveHubOptions({}, '/tmp/x', {}).tts).to.deep.equal({ engine: 'espeak', language: 'en', cacheMaxAgeDays: 30 });
    const env = { YOTO_TTS_ENGINE: 'marytts', YOTO_TTS_URL: 'http://opentts.lan:5500', YOTO_TTS_VOICE: 'larynx:harvard', YOTO_TTS_LANGUAGE: 'en-GB', YOTO_TTS_CACHE_DAYS: '7' };
    expect(resolveHubOptions({ ttsLanguage: 'fr' }, '/tmp/x', env).tts).to.deep.equal({ engine: 'marytts', url: 'http://opentts.lan:5500', voice: 'larynx:harvard', language: 'fr', cacheMaxAgeDays: 7 });
  });

  it('refuses an unknown engine, a marytts engine with no server, a bad language, URL or cache age, naming the setting', () => {
    expect(() => resolveHubOptions({ ttsEngine: 'polly' }, '/tmp/x', {})).to.throw(HubConfigError, /text-to-speech engine must be espeak or marytts, got "polly"/);
    expect(() => resolveHubOptions({ ttsEngine: 'marytts' }, '/tmp/x', {})).to.throw(HubConfigError, /YOTO_TTS_URL/);
    expect(() => resolveHubOptions({ ttsLanguage: 'English please' }, '/tmp/x', {})).to.throw(HubConfigError, /language is a tag such as en/);
    expect(() => resolveHubOptions({ ttsUrl: 'ftp://x' }, '/tmp/x', {})).to.throw(HubConfigError, /text-to-speech server URL must use http: or https:/);
    expect(() => resolveHubOptions({ ttsCacheDays: '0' }, '/tmp/x', {})).to.throw(HubConfigError, /text-to-speech cache days must be a whole number from 1 to 3650/);
  });

  it('keeps the settings in the saved hub config, which the hub-config schema accepts', () => {
    const options = resolveHubOptions({ ttsVoice: 'en-us', ttsCacheDays: 3 }, '/tmp/x', {});
    expect(getValidator().check('hub-config', options).ok).to.equal(true);
    expect(resolveHubOptions(mergeSavedSettings({}, options), '/tmp/x', {}).tts).to.deep.equal({ engine: 'espeak', voice: 'en-us', language: 'en', cacheMaxAgeDays: 3 });
  });

  it('says text in the hub\'s default voice: the same audio as asking for that voice', async () => {
    const hub = await startTestHub({ ttsVoice: 'en-us' });
    try {
      const byDefault = await hub.speech.render({ text: 'Lights out' });
      const named = await hub.speech.render({ text: 'Lights out', voice: 'en-us' });
      const other = await hub.speech.render({ text: 'Lights out', voice: 'en' });
      expect(named).to.include({ cached: true, cacheKey: byDefault.cacheKey });
      expect(other.cacheKey).to.not.equal(byDefault.cacheKey);
    } finally {
      await stopTestHub(hub);
    }
  });
});
