export {
  createAccounts,
  adminCredentialsFromEnv,
  publicUser,
  type Accounts,
  type AccountsOptions,
  type AccountsRateLimit,
  type AdminCredentials,
  type RightsChange,
  type PublicUser,
  type SignInAnswer,
} from './accounts';
export { hashPassword, verifyPassword, PASSWORD_MIN_LENGTH } from './passwords';
export { loadOrCreateJwtSecret } from './jwt-secret';
