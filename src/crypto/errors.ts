// The one error type of the key operations. The server maps `reason` onto
// its own reasons (BAD_ALGORITHM, BAD_PARAMETER; DECRYPTION_FAILED answers a
// decrypt or unwrap that did not authenticate). Messages never carry key
// material, plaintext or anything that tells why a decryption failed: a
// decryption that fails for different reasons with different messages is an
// oracle.

export type CryptoErrorReason = 'BAD_ALGORITHM' | 'BAD_PARAMETER' | 'DECRYPTION_FAILED';

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly reason: CryptoErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export const badParameter = (message: string): CryptoError => new CryptoError('BAD_PARAMETER', message);
export const badAlgorithm = (message: string): CryptoError => new CryptoError('BAD_ALGORITHM', message);
export const decryptionFailed = (what = 'decryption'): CryptoError =>
  new CryptoError('DECRYPTION_FAILED', `${what} failed: wrong key, or the data or its tag was altered`);
