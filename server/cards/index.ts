export { FamilyLibrary, NoCloudError, type FamilyCard, type FamilyCardDetail, type CardGroup } from './family-library';
export { cardRoutes } from './routes';
export { libraryCommandResolver } from './command-resolver';
export { CardDirectory, type CardDirectoryOptions } from './card-directory';
export { NowPlayingCards } from './now-playing';
