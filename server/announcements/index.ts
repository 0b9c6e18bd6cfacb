export { Announcer, type AnnouncerOptions, type AnnouncementOutcome, type PlayerSnapshot, type CardSaver } from './announcer';
