import { createHash } from 'node:crypto';
import type { CardInput, YotoCard } from '../card';
import { YotoUploadError } from './errors';
import type { YotoRestClient } from './rest-client';
import type {
  UploadedAudio,
  UploadedIcon,
  YotoAudioUploadUrl,
  YotoCardSummary,
  YotoDevice,
  YotoDeviceConfig,
  YotoDeviceConfigDevice,
  YotoDeviceConfigResponse,
  YotoDeviceConfigUpdate,
  YotoDevicesResponse,
  YotoDisplayIcon,
  YotoFamilyLibraryEntry,
  YotoFamilyLibraryGroup,
  YotoTranscode,
} from './types';

export interface YotoCloudApiOptions {
  /** Pause between transcode polls. Default 1 s. */
  transcodePollMs?: number;
  /** Give up on a transcode after this many polls. Default 600 (10 minutes at 1 s). */
  transcodeMaxPolls?: number;
}

export interface UploadAudioOptions {
  filename: string;
  /** Sent with the bytes to the presigned URL. Default (and what the working clients send): audio/mpeg, whatever the format. */
  contentType?: string;
}

/** The Content-Type of every audio upload to Yoto's presigned URL. */
export const UPLOAD_CONTENT_TYPE = 'audio/mpeg';

export interface UploadIconOptions {
  filename?: string;
  /** true (default): Yoto resizes and converts any image. false: it must already be a 16x16 PNG or GIF. */
  autoConvert?: boolean;
}

/**
 * The Yoto REST endpoints the hub uses, typed: players and their config,
 * MYO cards, display icons and the audio upload flow. One instance serves
 * both the real cloud and the virtual one (only the base URL differs).
 */
export class YotoCloudApi {
  private readonly configWrites = new Map<string, Promise<unknown>>();
  private readonly pollMs: number;
  private readonly maxPolls: number;

  constructor(private readonly rest: YotoRestClient, options: YotoCloudApiOptions = {}) {
    this.pollMs = options.transcodePollMs ?? 1000;
    this.maxPolls = options.transcodeMaxPolls ?? 600;
  }

  // Players

  async listDevices(): Promise<YotoDevice[]> {
    const body = await this.rest.request<YotoDevicesResponse>('GET', '/device-v2/devices/mine');
    return body.devices;
  }

  async getDeviceConfig(deviceId: string): Promise<YotoDeviceConfigDevice> {
    const body = await this.rest.request<YotoDeviceConfigResponse>('GET', `/device-v2/${encodeURIComponent(deviceId)}/config`);
    return body.device;
  }

  /** Replaces the whole config block: settings left out go back to their defaults. Prefer updateDeviceConfig(). */
  async putDeviceConfig(deviceId: string, update: YotoDeviceConfigUpdate): Promise<void> {
    await this.rest.request('PUT', `/device-v2/${encodeURIComponent(deviceId)}/config`, { json: update });
  }

  /**
   * Changes some settings and keeps the others: reads the config, merges the
   * change in and writes the whole block back. Updates to one player are
   * queued, so two at once cannot undo each other.
   */
  updateDeviceConfig(deviceId: string, change: YotoDeviceConfig, name?: string): Promise<YotoDeviceConfig> {
    return this.updateDeviceConfigWith(deviceId, () => change, name);
  }

  /**
   * Like updateDeviceConfig(), with the change worked out from the config
   * just read, inside the player's queue (alarms are changed by position, so
   * the list must be the one the write goes on top of).
   */
  updateDeviceConfigWith(deviceId: string, changeOf: (current: YotoDeviceConfig) => YotoDeviceConfig, name?: string): Promise<YotoDeviceConfig> {
    const previous = this.configWrites.get(deviceId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const current = await this.getDeviceConfig(deviceId);
      const config = { ...current.config, ...changeOf(current.config) };
      await this.putDeviceConfig(deviceId, { ...(name !== undefined ? { name } : {}), config });
      return config;
    });
    const settled = next.then(() => undefined, () => undefined);
    this.configWrites.set(deviceId, settled);
    void settled.then(() => {
      if (this.configWrites.get(deviceId) === settled) this.configWrites.delete(deviceId);
    });
    return next;
  }

  // Family library

  /** The family's cards (bought, Make Your Own, podcasts), as `GET /card/family/library` lists them. */
  async getFamilyLibrary(): Promise<YotoFamilyLibraryEntry[]> {
    const body = await this.rest.request<{ cards?: YotoFamilyLibraryEntry[] }>('GET', '/card/family/library');
    return body?.cards ?? [];
  }

  /** The family library's groups. */
  async getFamilyLibraryGroups(): Promise<YotoFamilyLibraryGroup[]> {
    const body = await this.rest.request<YotoFamilyLibraryGroup[] | { groups?: YotoFamilyLibraryGroup[] }>('GET', '/card/family/library/groups');
    return Array.isArray(body) ? body : (body?.groups ?? []);
  }

  // MYO cards

  /** The account's cards, without chapters. */
  async listMyCards(): Promise<YotoCardSummary[]> {
    const body = await this.rest.request<{ cards: YotoCardSummary[] }>('GET', '/content/mine');
    return body.cards;
  }

  async getCard(cardId: string): Promise<YotoCard> {
    const body = await this.rest.request<{ card: YotoCard }>('GET', `/content/${encodeURIComponent(cardId)}`);
    return body.card;
  }

  /** Creates a card (no cardId) or replaces one (with cardId); returns it as stored, with its id. */
  async saveCard(card: CardInput): Promise<YotoCard> {
    const body = await this.rest.request<{ card: YotoCard }>('POST', '/content', { json: card });
    return body.card;
  }

  async deleteCard(cardId: string): Promise<void> {
    await this.rest.request('DELETE', `/content/${encodeURIComponent(cardId)}`);
  }

  // Display icons

  async listPublicIcons(): Promise<YotoDisplayIcon[]> {
    const body = await this.rest.request<{ displayIcons: YotoDisplayIcon[] }>('GET', '/media/displayIcons/user/yoto');
    return body.displayIcons;
  }

  async listMyIcons(): Promise<YotoDisplayIcon[]> {
    const body = await this.rest.request<{ displayIcons: YotoDisplayIcon[] }>('GET', '/media/displayIcons/user/me');
    return body.displayIcons;
  }

  /** Uploads a 16x16 icon (or any image with autoConvert); the same image twice gives the same icon. */
  async uploadIcon(image: Uint8Array, options: UploadIconOptions = {}): Promise<UploadedIcon> {
    const body = await this.rest.request<{ displayIcon: YotoDisplayIcon }>('POST', '/media/displayIcons/user/me/upload', {
      query: { autoConvert: options.autoConvert ?? true, filename: options.filename },
      body: image,
      contentType: 'application/octet-stream',
    });
    return { ...body.displayIcon, iconRef: `yoto:#${body.displayIcon.mediaId}` };
  }

  // Audio

  /**
   * The audio upload flow: ask for an upload URL by sha256 (null means Yoto
   * has these bytes already), PUT the bytes there, then poll until the
   * transcode is done. Returns what a track needs (trackUrl, duration...).
   */
  async uploadAudio(audio: Uint8Array, options: UploadAudioOptions): Promise<UploadedAudio> {
    const sha256 = createHash('sha256').update(audio).digest('hex');
    const { upload } = await this.rest.request<{ upload: YotoAudioUploadUrl }>('GET', '/media/transcode/audio/uploadUrl', {
      query: { sha256, filename: options.filename },
    });
    if (upload.uploadUrl) {
      await this.rest.request('PUT', upload.uploadUrl, {
        body: audio,
        // Yoto transcodes what it gets; the working clients always send audio/mpeg, and other
        // types (the file extension's) give failed or unplayable transcodes.
        contentType: options.contentType ?? UPLOAD_CONTENT_TYPE,
        authenticated: false,
      });
    }
    const transcode = await this.waitForTranscode(upload.uploadId);
    const info = transcode.transcodedInfo ?? {};
    const transcodedSha256 = transcode.transcodedSha256!;
    return {
      uploadId: upload.uploadId,
      sha256,
      alreadyUploaded: upload.uploadUrl === null,
      transcodedSha256,
      trackUrl: `yoto:#${transcodedSha256}`,
      ...(info.duration !== undefined ? { duration: info.duration } : {}),
      ...(info.fileSize !== undefined ? { fileSize: info.fileSize } : {}),
      ...(info.format !== undefined ? { format: info.format } : {}),
      ...(info.channels !== undefined ? { channels: info.channels } : {}),
    };
  }

  async getTranscode(uploadId: string): Promise<YotoTranscode> {
    const body = await this.rest.request<{ transcode?: YotoTranscode }>('GET', `/media/upload/${encodeURIComponent(uploadId)}/transcoded`, {
      query: { loudnorm: false },
    });
    return body?.transcode ?? { uploadId };
  }

  private async waitForTranscode(uploadId: string): Promise<YotoTranscode> {
    for (let poll = 0; poll < this.maxPolls; poll++) {
      const transcode = await this.getTranscode(uploadId);
      if (transcode.transcodedSha256) return transcode;
      if (transcode.failedUploadSha256 || transcode.progress?.phase === 'failed') {
        throw new YotoUploadError(`Yoto could not transcode upload ${uploadId}: the file is not audio it can read`, uploadId);
      }
      await this.rest.delay(this.pollMs);
    }
    throw new YotoUploadError(`Yoto had not finished transcoding upload ${uploadId} after ${this.maxPolls} checks`, uploadId);
  }
}

