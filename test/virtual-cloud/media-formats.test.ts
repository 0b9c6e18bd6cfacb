import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturesDir } from '../helpers/fixtures';
import { readAudioInfo } from '../../server/virtual/http/media/audio-info';
import { readImageInfo, strictIconProblem } from '../../server/virtual/http/media/image-info';
import { encodePng } from '../../server/virtual/http/media/png';
import { wavFile } from '../library/media';

const spyshort = (...parts: string[]): Buffer => fs.readFileSync(path.join(fixturesDir, 'twine-spyshort', ...parts));


describe('virtual cloud media checks', () => {
  it('reads icon sizes from the header bytes of the fixture PNG and GIFs', () => {
    expect(readImageInfo(spyshort('icons', 'SolveRiddle.png'))).to.deep.equal({ format: 'png', width: 16, height: 16, bitDepth: 8, colorType: 6 });
    for (const gif of ['Start.gif', 'SNitch.gif', 'SearchElsewhere.gif']) {
      expect(readImageInfo(spyshort('icons', gif)), gif).to.deep.equal({ format: 'gif', width: 16, height: 16 });
      expect(strictIconProblem(readImageInfo(spyshort('icons', gif)))).to.equal(undefined);
    }
  });

  it('refuses, without autoConvert, icons of the wrong size or kind', () => {
    expect(strictIconProblem(readImageInfo(encodePng(16, 17, () => [0, 0, 0, 255])))).to.contain('16x17');
    expect(strictIconProblem(readImageInfo(Buffer.from([0xff, 0xd8, 0xff, 0xe0])))).to.contain('JPEG icon needs autoConvert');
    expect(strictIconProblem(readImageInfo(spyshort('audio', 'Start.mp3')))).to.contain('not an image');
  });

  it('measures the fixture MP3s (24 kHz mono, VBR) to the second', () => {
    expect(readAudioInfo(spyshort('audio', 'Start.mp3'))).to.include({ format: 'mp3', duration: 4, channels: 'mono', sampleRate: 24000 });
    expect(readAudioInfo(spyshort('audio', 'SolveRiddle.mp3'))).to.include({ duration: 2 });
    expect(readAudioInfo(spyshort('audio', 'SearchElsewhere.mp3'))).to.include({ duration: 3 });
  });

  it('measures a WAV, and knows an image is not audio', () => {
    expect(readAudioInfo(wavFile(5, 8000, () => 0))).to.deep.equal({ format: 'wav', duration: 5, channels: 'mono', sampleRate: 8000, bitrate: 128000 });
    expect(readAudioInfo(spyshort('icons', 'SolveRiddle.png'))).to.equal(undefined);
  });
});
