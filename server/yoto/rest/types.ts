import type { YotoCard } from '../card';

/**
 * Shapes of the Yoto REST API answers the hub uses, as the maintained client
 * libraries document them. Fields the hub does not read are left open.
 */

/** One entry of `GET /device-v2/devices/mine`. */
export interface YotoDevice {
  deviceId: string;
  name: string;
  description?: string;
  online: boolean;
  releaseChannel?: string;
  deviceType: string;
  deviceFamily: string;
  deviceGroup?: string;
  generation?: string;
  formFactor?: string;
  hasUserGivenName?: boolean;
}

export interface YotoDevicesResponse {
  devices: YotoDevice[];
}

/**
 * The `config` block of `/device-v2/{id}/config`. Values are mostly strings
 * on the wire ("16", "07:00", "auto"); PUT replaces the whole block.
 */
export interface YotoDeviceConfig {
  alarms?: string[];
  ambientColour?: string;
  bluetoothEnabled?: string;
  btHeadphonesEnabled?: boolean;
  clockFace?: string;
  dayDisplayBrightness?: string;
  dayTime?: string;
  dayYotoDaily?: string;
  dayYotoRadio?: string;
  daySoundsOff?: string;
  displayDimBrightness?: string;
  displayDimTimeout?: string;
  headphonesVolumeLimited?: boolean;
  hourFormat?: string;
  locale?: string;
  logLevel?: string;
  maxVolumeLimit?: string;
  nightAmbientColour?: string;
  nightDisplayBrightness?: string;
  nightMaxVolumeLimit?: string;
  nightTime?: string;
  nightYotoDaily?: string;
  nightYotoRadio?: string;
  nightSoundsOff?: string;
  pausePowerButton?: boolean;
  pauseVolumeDown?: boolean;
  repeatAll?: boolean;
  showDiagnostics?: boolean;
  shutdownTimeout?: string;
  systemVolume?: string;
  timezone?: string;
  volumeLevel?: string;
}

/** `GET /device-v2/{id}/config` answers `{device: ...}`. */
export interface YotoDeviceConfigDevice {
  deviceId: string;
  name: string;
  deviceType: string;
  deviceFamily: string;
  deviceGroup?: string;
  online: boolean;
  fwVersion?: string;
  releaseChannelId?: string;
  releaseChannelVersion?: string;
  geoTimezone?: string;
  errorCode?: string | null;
  config: YotoDeviceConfig;
  [field: string]: unknown;
}

export interface YotoDeviceConfigResponse {
  device: YotoDeviceConfigDevice;
}

/** The body of `PUT /device-v2/{id}/config`. */
export interface YotoDeviceConfigUpdate {
  name?: string;
  config: YotoDeviceConfig;
}

/** `GET /content/mine` lists cards without their chapters. */
export type YotoCardSummary = Omit<YotoCard, 'content'> & {
  content: Omit<YotoCard['content'], 'chapters'>;
  deleted?: boolean;
};

export interface YotoDisplayIcon {
  displayIconId: string;
  mediaId: string;
  userId: string;
  url: string;
  title?: string;
  createdAt?: string;
  public?: boolean;
  publicTags?: string[];
  /** true when this upload created the icon; absent when the same image was there already. */
  new?: boolean;
}

export interface UploadedIcon extends YotoDisplayIcon {
  /** What a card refers to it by: `yoto:#<mediaId>`. */
  iconRef: string;
}

export interface YotoAudioUploadUrl {
  uploadId: string;
  /** null: Yoto already has audio with this sha256. */
  uploadUrl: string | null;
}

export interface YotoTranscodedInfo {
  duration?: number;
  fileSize?: number;
  format?: string;
  codec?: string;
  channels?: string;
  sampleRate?: number;
  bitrate?: number;
}

export interface YotoTranscode {
  uploadId: string;
  uploadSha256?: string;
  transcodedSha256?: string | null;
  transcodedInfo?: YotoTranscodedInfo;
  failedUploadSha256?: string | null;
  progress?: { phase?: string; percent?: number };
}

/** What uploadAudio() returns: everything a track needs. */
export interface UploadedAudio {
  uploadId: string;
  /** sha256 of the bytes sent. */
  sha256: string;
  /** true when Yoto already had these bytes (null uploadUrl) and nothing was sent. */
  alreadyUploaded: boolean;
  transcodedSha256: string;
  /** `yoto:#<transcodedSha256>`, for a track's trackUrl. */
  trackUrl: string;
  duration?: number;
  fileSize?: number;
  format?: string;
  channels?: string;
}

/**
 * One entry of `GET /card/family/library`: the card (without chapters) and
 * how the family has it. Real entries carry more; unknown fields are kept.
 */
export interface YotoFamilyLibraryEntry {
  cardId: string;
  /** "myo" for Make Your Own; bought cards and podcasts have others ("purchased", "podcast"...). */
  shareType?: string;
  lastPlayedAt?: string;
  card: YotoCardSummary;
  [field: string]: unknown;
}

/** One group of `GET /card/family/library/groups` (yoto.dev getGroups). */
export interface YotoFamilyLibraryGroup {
  id: string;
  name: string;
  familyId?: string;
  imageId?: string;
  imageUrl?: string;
  items: Array<{ contentId: string; addedAt?: string }>;
  createdAt?: string;
  lastModifiedAt?: string;
  [field: string]: unknown;
}
