import { expect } from 'chai';
import { toApiError } from '../../server/http/api-error';
import { getValidator, SchemaValidationError, type ErrorDetail, type SchemaName } from '../../server/validation';
import { device, playlistScript, user } from './examples';

const COMMANDS = 'play, pause, resume, stop, next, previous, seek, volume, sleep, nightlight, reboot, status_request, play_random, volume_up, volume_down, display_preview, bluetooth';

/** The error validate() throws for `value`; fails the test when there is none. */
function rejection(schema: SchemaName, value: unknown): SchemaValidationError {
  try {
    getValidator().validate(schema, value);
  } catch (error) {
    expect(error).to.be.instanceOf(SchemaValidationError);
    return error as SchemaValidationError;
  }
  expect.fail(`${schema} accepted ${JSON.stringify(value)}`);
}

function details(schema: SchemaName, value: unknown): ErrorDetail[] {
  return rejection(schema, value).details;
}

describe('validation errors', () => {
  describe('on records', () => {
    it('names the field and the expected type', () => {
      const error = rejection('device', { ...device, name: 42 });
      expect(error.details).to.deep.equal([{ path: '/name', message: 'must be a string' }]);
      expect(error.message).to.equal('device is invalid: /name must be a string');
      expect(error.code).to.equal('validation_failed');
      expect(error.schema).to.equal('device');
    });

    it('puts a missing required field in the path', () => {
      const { email: _email, ...withoutEmail } = user;
      expect(details('user', withoutEmail)).to.deep.equal([{ path: '/email', message: 'is required' }]);
    });

    it('names an extra property and lists the allowed ones', () => {
      expect(details('device', { ...device, colour: 'red' })).to.deep.equal([
        {
          path: '/colour',
          message: 'is not allowed (allowed: id, userId, deviceId, name, source, model, status, lastSeen, metadata, createdAt, updatedAt)',
        },
      ]);
    });

    it('lists the allowed values of an enum', () => {
      const error = rejection('device', { ...device, status: 'sleeping' });
      expect(error.details).to.deep.equal([{ path: '/status', message: 'must be one of connected, disconnected, idle, shutdown, unknown' }]);
    });

    it('reports every problem at once, in the message as well', () => {
      const error = rejection('device', { ...device, name: 42, status: 'sleeping' });
      expect(error.message).to.equal(
        'device is invalid: /name must be a string; /status must be one of connected, disconnected, idle, shutdown, unknown',
      );
    });

    it('shows an example of a valid date-time', () => {
      expect(details('device', { ...device, updatedAt: '10/01/2026' })).to.deep.equal([
        { path: '/updatedAt', message: 'must be a date-time with a time zone, e.g. 2026-01-10T08:15:32Z' },
      ]);
    });

    it('answers "/" for a value that is not an object at all', () => {
      expect(details('device', 'Kids Bedroom')).to.deep.equal([{ path: '/', message: 'must be an object' }]);
    });

    it('escapes "/" in a property name as a JSON pointer does', () => {
      expect(details('device', { ...device, 'a/b': 1 })[0]?.path).to.equal('/a~1b');
    });

    it('reports the script branch its type selects', () => {
      const emptyPlaylist = { ...playlistScript, definition: { tracks: [] } };
      expect(details('script', emptyPlaylist)).to.deep.equal([{ path: '/definition/tracks', message: 'must have at least 1 item' }]);
      expect(details('script', { ...playlistScript, type: 'radio' })).to.deep.equal([
        { path: '/type', message: 'must be one of simple, playlist, cyoa' },
      ]);
    });

    it('lists the first ten problems in the message and counts the rest', () => {
      const many = rejection('cyoa-story', { nodes: Array.from({ length: 12 }, () => ({})), connections: [] });
      expect(many.details.length).to.be.greaterThan(10);
      expect(many.message).to.match(new RegExp(`; and ${many.details.length - 10} more$`));
    });
  });

  describe('on home broker commands', () => {
    it('names the field a command needs', () => {
      expect(details('broker-command', { command: 'volume' })).to.deep.equal([{ path: '/volume', message: 'is required' }]);
    });

    it('lists the commands when the command is unknown', () => {
      expect(details('broker-command', { command: 'fly' })).to.deep.equal([{ path: '/command', message: `must be one of ${COMMANDS}` }]);
    });

    it('asks for the command when there is none', () => {
      expect(details('broker-command', { volume: 20 })).to.deep.equal([{ path: '/command', message: `is required (one of ${COMMANDS})` }]);
    });

    it('gives the range of a number', () => {
      expect(details('broker-command', { command: 'volume', volume: 101 })).to.deep.equal([{ path: '/volume', message: 'must be <= 100' }]);
    });

    it('rejects a field of another command', () => {
      expect(details('broker-command', { command: 'pause', volume: 20 })).to.deep.equal([
        { path: '/volume', message: 'is not allowed (allowed: command, request_id, timestamp)' },
      ]);
    });

    it('wants exactly one of script_id, card_id and title to play', () => {
      expect(details('broker-command', { command: 'play' })).to.deep.equal([{ path: '/', message: 'must have script_id, card_id or title' }]);
      expect(details('broker-command', { command: 'play', script_id: 's-1', card_id: '5WsQg' })).to.deep.equal([
        { path: '/', message: 'must have only one of script_id, card_id, title' },
      ]);
    });

    it('lists the colour forms a night light takes instead of one error per form', () => {
      expect(details('broker-command', { command: 'nightlight', color: 'red' })).to.deep.equal([
        { path: '/color', message: 'must be a colour as "#rrggbb", an {r, g, b} object with values from 0 to 255 or "off"' },
      ]);
    });

    it('points inside the colour form the value has', () => {
      expect(details('broker-command', { command: 'nightlight', color: { r: 300, g: 0, b: 0 } })).to.deep.equal([
        { path: '/color/r', message: 'must be <= 255' },
      ]);
    });

    it('wants an announcement to say what to play', () => {
      expect(details('broker-announcement', { voice: 'en' })).to.deep.equal([{ path: '/', message: 'must have text, audio_file_id or url' }]);
      expect(details('broker-announcement', { text: 'Dinner!', url: 'https://example.com/a.mp3' })).to.deep.equal([{ path: '/', message: 'must have only one of text, audio_file_id, url' }]);
    });
  });

  describe('on WebSocket messages', () => {
    it('shows the topic pattern of a bad subscription', () => {
      expect(details('ws-client-message', { type: 'subscribe', topic: 'device/abc' })).to.deep.equal([
        { path: '/topic', message: 'must match the pattern ^device\\.(\\*|[A-Za-z0-9_-]+)$' },
      ]);
    });
  });

  it('becomes a 400 answer with the same details in the HTTP layer', () => {
    const error = rejection('broker-command', { command: 'volume' });
    const apiError = toApiError(error);
    expect(apiError?.status).to.equal(400);
    expect(apiError?.toBody()).to.deep.equal({
      error: { code: 'validation_failed', message: 'broker-command is invalid: /volume is required', details: [{ path: '/volume', message: 'is required' }] },
    });
  });

  it('check() returns the error instead of throwing', () => {
    const result = getValidator().check('broker-command', { command: 'fly' });
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.error.details[0]?.path).to.equal('/command');
  });
});
