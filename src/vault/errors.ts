// The vault's one error type. The server maps `kind` to a gRPC status code and
// sends `reason` as the machine-readable part; `message` is for humans and
// must never quote a secret value or key material (only names, ids and limits).

export enum ErrorKind {
  NotFound = 'NotFound',
  AlreadyExists = 'AlreadyExists',
  InvalidArgument = 'InvalidArgument',
  FailedPrecondition = 'FailedPrecondition',
  PermissionDenied = 'PermissionDenied',
  Unavailable = 'Unavailable',
}

/** Reasons the vault itself produces; the server adds its own (NO_QUORUM, ...). */
export type Reason =
  | 'VAULT_NOT_FOUND'
  | 'VAULT_ALREADY_EXISTS'
  | 'VAULT_NOT_EMPTY'
  | 'SECRET_NOT_FOUND'
  | 'SECRET_VERSION_NOT_FOUND'
  | 'SECRET_VERSION_ALREADY_EXISTS'
  | 'DELETED_SECRET_NOT_FOUND'
  | 'CONFLICT_DELETED_EXISTS'
  | 'SECRET_ALREADY_EXISTS'
  | 'SECRET_DISABLED'
  | 'SECRET_NOT_YET_VALID'
  | 'SECRET_EXPIRED'
  | 'PURGE_PROTECTED'
  | 'INVALID_NAME'
  | 'VALUE_TOO_LARGE'
  | 'BAD_PARAMETER'
  | 'INVALID_PAGE_TOKEN'
  | 'BAD_BACKUP'
  | 'BAD_COMMAND'
  | 'REQUEST_ID_REUSED'
  | 'DATA_KEY_ALREADY_EXISTS'
  | 'DATA_KEY_ROTATED'
  | 'KEY_NOT_FOUND'
  | 'KEY_VERSION_NOT_FOUND'
  | 'KEY_VERSION_ALREADY_EXISTS'
  | 'DELETED_KEY_NOT_FOUND'
  | 'KEY_ALREADY_EXISTS'
  | 'KEY_DISABLED'
  | 'KEY_NOT_YET_VALID'
  | 'KEY_EXPIRED'
  | 'OPERATION_NOT_ALLOWED'
  | 'BAD_ALGORITHM'
  | 'PRINCIPAL_NOT_FOUND'
  | 'PRINCIPAL_ALREADY_EXISTS'
  | 'ROLE_ASSIGNMENT_NOT_FOUND'
  | 'ROLE_ASSIGNMENT_ALREADY_EXISTS'
  /** From src/auth's validateRoleAssignment, which apply calls. */
  | 'INVALID_ROLE'
  | 'INVALID_SCOPE'
  | 'TOO_MANY_PRINCIPALS'
  | 'TOO_MANY_ROLE_ASSIGNMENTS'
  | 'TOO_MANY_TOKEN_KEYS'
  | 'TOO_MANY_VERSIONS';

export class VaultError extends Error {
  override readonly name = 'VaultError';

  constructor(
    readonly kind: ErrorKind,
    readonly reason: Reason | (string & {}),
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (reason: Reason, message: string) => new VaultError(ErrorKind.NotFound, reason, message);
export const alreadyExists = (reason: Reason, message: string) =>
  new VaultError(ErrorKind.AlreadyExists, reason, message);
export const invalid = (reason: Reason, message: string) => new VaultError(ErrorKind.InvalidArgument, reason, message);
export const precondition = (reason: Reason, message: string) =>
  new VaultError(ErrorKind.FailedPrecondition, reason, message);
export const forbidden = (reason: Reason, message: string) =>
  new VaultError(ErrorKind.PermissionDenied, reason, message);

/** Quotes a client-supplied name for a message, cut short so a huge input cannot flood a log. */
export function quote(s: unknown): string {
  const text = typeof s === 'string' ? s : String(s);
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
