// The API's status codes (DESIGN §4): the canonical codes gRPC uses
// (google.rpc.Code), by name. The application layer decides its answers in
// them and needs no transport for it: src/server sends them as gRPC
// statuses as they are (test/app/codes.test.ts holds the numbers equal to
// grpc-js's), src/rest maps them to HTTP statuses.

export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type Code = (typeof Code)[keyof typeof Code];
