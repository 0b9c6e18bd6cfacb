export { Announcer, type AnnouncerOptions, type AnnouncementHandle, type PlayerSnapshot, type CardSaver, type SpeechRenderer, type ChimeSource, type PlayerEntry } from './announcer';
export { BuiltInChime, CHIME_PATH } from './chime';
export { announcementRoutes } from './routes';
export { announcementTargets } from './targets';
