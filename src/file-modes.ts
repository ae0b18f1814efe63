// What a node writes is for its owner alone. Its data folder holds the Raft
// log, snapshots and state (secrets and private keys sealed, but names, tags,
// attributes and ciphertext in the clear), the audit log and its own logs:
// no other local user has any business reading them. Under the usual umask
// 022, folders came out 0755 and files 0644. A umask is the one setting that
// covers every file and folder the process creates, including those LevelDB's
// C++ code and other libraries make, which no `mode:` at a call site reaches.

/** Folders 0700 and files 0600 from now on; call it before the process creates anything. */
export function restrictFileModes(): void {
  process.umask(0o077);
}
